package dev.appshare.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.relay.RelayToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pairing stage on {@link EmbeddedChannel}s: each connection has its own event loop, whose
 * queued tasks and scheduled deadline the test runs in the order it chooses, so the race between a
 * holder's deadline and its partner's arrival is driven both ways, deterministically.
 */
class PairingHandlerTest {
    static final long TIMEOUT_MILLIS = 1_000;

    final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    final RelayServer relay = new RelayServer(tokens, TIMEOUT_MILLIS);

    EmbeddedChannel connection() {
        EmbeddedChannel ch =
                new EmbeddedChannel(
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel c) {
                                relay.initPairing(c);
                            }
                        });
        ch.freezeTime();
        return ch;
    }

    static void send(EmbeddedChannel ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    /** Everything the relay has written to this connection so far. */
    static String written(EmbeddedChannel ch) {
        ch.runPendingTasks(); // a splice flushes its peer at the end of the loop turn
        StringBuilder sb = new StringBuilder();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            sb.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return sb.toString();
    }

    static void fireDeadline(EmbeddedChannel ch) {
        ch.advanceTimeBy(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void aLoneHolderTimesOutAndSpendsItsToken() {
        String token = tokens.mint(30_000);
        EmbeddedChannel holder = connection();
        send(holder, "RELAY " + token + "\n");
        assertEquals("", written(holder));
        fireDeadline(holder);
        assertEquals("ERR timeout\n", written(holder));
        assertFalse(holder.isActive());

        EmbeddedChannel late = connection();
        send(late, "RELAY " + token + "\n");
        assertEquals("ERR spent-token\n", written(late));
        assertFalse(late.isActive());
    }

    @Test
    void aPartnerClaimingTheHolderBeforeItsDeadlineWinsEvenIfTheDeadlineRunsFirst() {
        String token = tokens.mint(30_000);
        EmbeddedChannel holder = connection();
        send(holder, "RELAY " + token + "\n");
        EmbeddedChannel partner = connection();
        // The partner claims the holder and queues the holder's half of the pairing on the
        // holder's event loop; the holder's deadline runs before that task.
        send(partner, "RELAY " + token + "\n");
        fireDeadline(holder);
        holder.runPendingTasks();
        partner.runPendingTasks();

        String toHolder = written(holder);
        String toPartner = written(partner);
        assertFalse(toHolder.contains("ERR"), "holder got: " + toHolder);
        assertEquals("OK\n", toHolder);
        assertEquals("OK\n", toPartner);
        assertTrue(holder.isActive(), "holder still open");
        assertTrue(partner.isActive(), "partner still open");

        // And the two are spliced: bytes cross both ways.
        send(holder, "from holder");
        send(partner, "from partner");
        assertEquals("from holder", written(partner));
        assertEquals("from partner", written(holder));
        holder.finishAndReleaseAll();
        partner.finishAndReleaseAll();
    }

    @Test
    void aPartnerArrivingAfterTheHoldersDeadlineGetsAnErrorAndNeverOk() {
        String token = tokens.mint(30_000);
        EmbeddedChannel holder = connection();
        send(holder, "RELAY " + token + "\n");
        // The deadline runs, but the holder's close has not reached the table or the partner yet
        // (the ERR is still being written): the partner must not be paired with it.
        fireDeadline(holder);
        EmbeddedChannel partner = connection();
        send(partner, "RELAY " + token + "\n");
        holder.runPendingTasks();
        partner.runPendingTasks();

        assertEquals("ERR timeout\n", written(holder));
        assertEquals("ERR spent-token\n", written(partner));
        assertFalse(partner.isActive());
    }

    @Test
    void aClientThatSendsFinBeforeItsLineIsClosedAtOnceNotAtTheDeadline() {
        EmbeddedChannel quitter = connection();
        send(quitter, "RELAY ");
        quitter.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        quitter.runPendingTasks();
        assertFalse(quitter.isActive(), "closed on its FIN");
        assertEquals("", written(quitter));
    }
}
