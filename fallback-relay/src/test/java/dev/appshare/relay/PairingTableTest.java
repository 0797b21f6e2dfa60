package dev.appshare.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.relay.PairingTable.Outcome;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** The pairing table on its own, with a clock the test moves. */
class PairingTableTest {
    static final long NOW = 1_000_000_000L;

    /** A clock that stands still until the test moves it. */
    static final class ManualClock extends Clock {
        long millis = NOW;

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    final ManualClock clock = new ManualClock();

    static Channel connection() {
        return new EmbeddedChannel();
    }

    @Test
    void aTokenPairsOnceAndIsThenSpent() {
        PairingTable table = new PairingTable(10, clock);
        long expiry = NOW + 60_000;
        Channel holder = connection();
        Channel partner = connection();

        assertEquals(Outcome.WAITING, table.offer("t", expiry, holder).outcome());
        PairingTable.Result paired = table.offer("t", expiry, partner);
        assertEquals(Outcome.PAIRED, paired.outcome());
        assertSame(holder, paired.partner());

        // Neither a third connection nor either of the two can pair with it again.
        assertEquals(Outcome.SPENT, table.offer("t", expiry, connection()).outcome());
        assertEquals(Outcome.SPENT, table.offer("t", expiry, holder).outcome());
        // The holder's late give-up changes nothing: the pairing already took it.
        assertFalse(table.abandon("t", expiry, holder));
        assertEquals(Outcome.SPENT, table.offer("t", expiry, connection()).outcome());
    }

    @Test
    void aHolderThatGivesUpSpendsItsToken() {
        PairingTable table = new PairingTable(10, clock);
        long expiry = NOW + 60_000;
        Channel holder = connection();
        assertEquals(Outcome.WAITING, table.offer("t", expiry, holder).outcome());
        assertTrue(table.abandon("t", expiry, holder));
        assertEquals(Outcome.SPENT, table.offer("t", expiry, connection()).outcome());
        assertFalse(table.abandon("t", expiry, holder), "abandoned once only");
    }

    @Test
    void anotherConnectionCannotAbandonTheHoldersToken() {
        PairingTable table = new PairingTable(10, clock);
        long expiry = NOW + 60_000;
        Channel holder = connection();
        table.offer("t", expiry, holder);
        assertFalse(table.abandon("t", expiry, connection()));
        assertEquals(Outcome.PAIRED, table.offer("t", expiry, connection()).outcome());
    }

    @Test
    void aHolderAlreadyClosedDoesNotPairAndItsTokenIsSpent() {
        PairingTable table = new PairingTable(10, clock);
        long expiry = NOW + 60_000;
        Channel holder = connection();
        table.offer("t", expiry, holder);
        holder.close(); // closed, but its channelInactive has not reached the table yet
        assertEquals(Outcome.SPENT, table.offer("t", expiry, connection()).outcome());
        assertEquals(Outcome.SPENT, table.offer("t", expiry, connection()).outcome());
    }

    @Test
    void atTheCapNewTokensAreRefusedButAWaitingHolderStillPairs() {
        int cap = 4;
        PairingTable table = new PairingTable(cap, clock);
        long expiry = NOW + 60_000;
        // Two spent tokens and two waiting ones fill the table.
        table.offer("s1", expiry, connection());
        table.offer("s1", expiry, connection());
        table.offer("s2", expiry, connection());
        table.abandon("s2", expiry, table.offer("s2", expiry, connection()).partner());
        Channel w1 = connection();
        assertEquals(Outcome.WAITING, table.offer("w1", expiry, w1).outcome());
        assertEquals(Outcome.WAITING, table.offer("w2", expiry, connection()).outcome());

        assertEquals(Outcome.FULL, table.offer("new", expiry, connection()).outcome());
        assertEquals(Outcome.FULL, table.offer("new", expiry, connection()).outcome());
        // A partner for a waiting token needs no room: the entry moves from waiting to spent.
        PairingTable.Result r = table.offer("w1", expiry, connection());
        assertEquals(Outcome.PAIRED, r.outcome());
        assertSame(w1, r.partner());
        assertEquals(Outcome.FULL, table.offer("new", expiry, connection()).outcome());
        // Spent tokens stay spent at the cap too.
        assertEquals(Outcome.SPENT, table.offer("s1", expiry, connection()).outcome());
    }

    @Test
    void spentTokensAreForgottenOnceExpiredFreeingTheirRoom() {
        PairingTable table = new PairingTable(2, clock);
        long expiry = NOW + 60_000;
        for (String t : new String[] {"a", "b"}) {
            table.offer(t, expiry, connection());
            table.offer(t, expiry, connection());
        }
        assertEquals(Outcome.FULL, table.offer("c", expiry + 60_000, connection()).outcome());

        // Not yet expired: still spent, still full.
        clock.millis = expiry - 1;
        assertEquals(Outcome.SPENT, table.offer("a", expiry, connection()).outcome());
        assertEquals(Outcome.FULL, table.offer("c", expiry + 60_000, connection()).outcome());

        // Expired, and a second since the last sweep: purged, and the room is free again. (The
        // relay never offers an expired token: RelayToken.check refuses it first; the purge only
        // frees the room.)
        clock.millis = expiry - 1 + 1_000;
        assertEquals(Outcome.WAITING, table.offer("c", expiry + 60_000, connection()).outcome());
        assertEquals(Outcome.WAITING, table.offer("d", expiry + 60_000, connection()).outcome());
        assertEquals(Outcome.FULL, table.offer("e", expiry + 60_000, connection()).outcome());
    }

    @Test
    void theExpirySweepRunsAtMostOnceASecond() {
        PairingTable table = new PairingTable(1, clock);
        long expiry = NOW + 60_000;
        clock.millis = expiry - 1;
        // This offer sweeps (nothing to purge yet) and fills the table.
        table.offer("a", expiry, connection());
        table.offer("a", expiry, connection());
        // Expired 1 ms later, but the last sweep was under a second ago: still full.
        clock.millis = expiry;
        assertEquals(Outcome.FULL, table.offer("b", expiry + 60_000, connection()).outcome());
        clock.millis = expiry - 1 + 1_000;
        assertEquals(Outcome.WAITING, table.offer("b", expiry + 60_000, connection()).outcome());
    }
}
