package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.ShareRegistry.Claim;
import dev.appshare.rendezvous.ShareRegistry.Registration;
import dev.appshare.rendezvous.ShareRegistry.Session;
import dev.appshare.rendezvous.ShareRegistry.Share;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.PrimitiveIterator;
import java.util.Random;
import java.util.Set;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The registry on its own; each control connection is an EmbeddedChannel. */
class ShareRegistryTest {
    static final java.net.InetAddress ADDR = java.net.InetAddress.getLoopbackAddress();
    private static final String FP = "ab".repeat(32);
    private static final String OWNER = "0f".repeat(16);
    private static final String STRANGER = "e1".repeat(16);

    private static Share register(ShareRegistry r, String name, String owner) {
        Registration reg = r.register(name, new EmbeddedChannel(), owner, ADDR);
        assertEquals(Claim.OK, reg.claim(), "register " + name);
        return reg.share();
    }

    @Test
    void aFreshShareGetsAFreeNameThatLookupFinds() {
        ShareRegistry r = new ShareRegistry(8);
        Share s = register(r, null, OWNER);
        assertTrue(NameAllocator.isValid(s.name()), s.name());
        assertSame(s, r.lookup(s.name()));
        assertNull(r.lookup("no-such-share"));
    }

    @Test
    void onlyTheOwnerSecretRetakesALiveName() {
        ShareRegistry r = new ShareRegistry(8);
        Share first = register(r, "my-app", OWNER);
        Session s = r.open(first, new EmbeddedChannel());

        Registration stranger = r.register("my-app", new EmbeddedChannel(), STRANGER, ADDR);
        assertEquals(Claim.TAKEN, stranger.claim());
        assertNull(stranger.share());
        assertSame(first, r.lookup("my-app"), "a stranger changes nothing");

        Registration again = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.OK, again.claim());
        assertSame(first, again.replaced(), "the stale registration is handed back to close");
        assertSame(again.share(), r.lookup("my-app"));

        // The replaced connection closes later: its sessions end, the name stays with the new one.
        assertEquals(List.of(s), r.drop(first.channel(), first));
        assertSame(again.share(), r.lookup("my-app"));
        assertNull(r.session(s.id()));
    }

    @Test
    void aDroppedShareFreesItsNameForAnyone() {
        ShareRegistry r = new ShareRegistry(8);
        Share s = register(r, "my-app", OWNER);
        r.drop(s.channel(), s);
        assertNull(r.lookup("my-app"));
        assertEquals(Claim.OK, r.register("my-app", new EmbeddedChannel(), STRANGER, ADDR).claim());
    }

    @Test
    void aRandomNameIsRefusedWhenEveryDrawIsTaken() {
        // Two allocators with the same seed draw the same names: take the 64 the registry will try.
        ShareRegistry r = new ShareRegistry(8, new NameAllocator(new Random(42)));
        NameAllocator replay = new NameAllocator(new Random(42));
        for (int i = 0; i < 64; i++) register(r, replay.allocate(n -> false), OWNER);
        Registration none = r.register(null, new EmbeddedChannel(), OWNER, ADDR);
        assertEquals(Claim.EXHAUSTED, none.claim());
        assertNull(none.share());
    }

    @Test
    void aConnectorHasOneSessionAndASecondReplacesTheFirst() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Share other = register(r, "other-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Session first = r.open(share, connector);
        assertSame(first, r.session(first.id()));
        assertSame(share.channel(), first.other(connector));
        assertSame(connector, first.other(share.channel()));

        Session second = r.open(other, connector);
        assertNotEquals(first.id(), second.id());
        assertNull(r.session(first.id()), "the first session ended");
        assertSame(second, r.session(second.id()));
        assertEquals(List.of(), r.drop(share.channel(), share), "the share has no session left");
        assertEquals(List.of(second), r.drop(connector, null).sessions());
        assertNull(r.session(second.id()));
    }

    @Test
    void aShareHasAtMostMaxSessionsAndAClosedOneMakesRoom() {
        ShareRegistry r = new ShareRegistry(3);
        Share share = register(r, "my-app", OWNER);
        List<Channel> connectors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Channel c = new EmbeddedChannel();
            connectors.add(c);
            assertNotNull(r.open(share, c));
        }
        assertNull(r.open(share, new EmbeddedChannel()), "a fourth connector is refused");
        assertNotNull(
                r.open(share, connectors.get(0)), "a connector asking again replaces its own");
        assertNotNull(r.open(register(r, "other-app", OWNER), new EmbeddedChannel()), "per share");

        r.drop(connectors.get(1), null);
        assertNotNull(r.open(share, new EmbeddedChannel()), "a closed connector made room");
        assertNull(r.open(share, new EmbeddedChannel()));
    }

    @Test
    void aSessionForwardsAtMostItsBudgetOfSignalsEachWay() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Session s = r.open(share, connector);
        for (int i = 0; i < RendezvousProtocol.MAX_SIGNALS_PER_SESSION; i++) {
            assertTrue(s.countSignal(connector));
        }
        assertTrue(!s.countSignal(connector), "the connector's next SIGNAL is dropped");
        assertTrue(s.countSignal(share.channel()), "the share's budget is its own");
    }

    @Test
    void aConnectToAFullShareKeepsTheAskersSessionElsewhere() {
        ShareRegistry r = new ShareRegistry(1);
        Share full = register(r, "full-app", OWNER);
        Share other = register(r, "other-app", OWNER);
        assertNotNull(r.open(full, new EmbeddedChannel()));
        Channel asker = new EmbeddedChannel();
        Session mine = r.open(other, asker);
        assertNotNull(mine);
        assertNull(r.open(full, asker), "the full share refuses");
        assertEquals(
                mine, r.session(mine.id()), "and the asker's session with the other share lives");
    }

    @Test
    void droppingAShareEndsItsSessionsOnly() {
        ShareRegistry r = new ShareRegistry(8);
        Share a = register(r, "app-a", OWNER);
        Share b = register(r, "app-b", OWNER);
        Session a1 = r.open(a, new EmbeddedChannel());
        Session a2 = r.open(a, new EmbeddedChannel());
        Session b1 = r.open(b, new EmbeddedChannel());

        Set<String> gone =
                r.drop(a.channel(), a).sessions().stream()
                        .map(Session::id)
                        .collect(Collectors.toSet());
        assertEquals(Set.of(a1.id(), a2.id()), gone);
        assertNull(r.session(a1.id()));
        assertNull(r.lookup("app-a"));
        assertSame(b1, r.session(b1.id()));
        assertEquals(
                List.of(), r.drop(a1.connector(), null).sessions(), "its connectors hold nothing");
        // A connector of the gone share may ask for another: its old session does not count.
        assertNotNull(r.open(b, a1.connector()));
    }

    @Test
    void dropAndOpenTouchOnlyTheSessionsInvolved() {
        ShareRegistry r = new ShareRegistry(1024);
        // 10,000 live sessions of other shares.
        for (int share = 0; share < 20; share++) {
            Share s = register(r, "busy-app-" + share, OWNER);
            for (int i = 0; i < 500; i++) assertNotNull(r.open(s, new EmbeddedChannel()));
        }
        Share mine = register(r, "my-app", OWNER);
        Channel c1 = new EmbeddedChannel();
        Channel c2 = new EmbeddedChannel();
        Channel c3 = new EmbeddedChannel();

        long before = r.testOnlySessionsVisited();
        r.open(mine, c1);
        r.open(mine, c2);
        r.open(mine, c3);
        r.open(mine, c3); // replaces its own
        assertTrue(
                r.testOnlySessionsVisited() - before <= 4,
                "open visited " + (r.testOnlySessionsVisited() - before) + " sessions");

        before = r.testOnlySessionsVisited();
        assertEquals(1, r.drop(c1, null).sessions().size());
        assertTrue(
                r.testOnlySessionsVisited() - before <= 1,
                "a connector's drop visited " + (r.testOnlySessionsVisited() - before));

        before = r.testOnlySessionsVisited();
        assertEquals(2, r.drop(mine.channel(), mine).sessions().size());
        assertTrue(
                r.testOnlySessionsVisited() - before <= 2,
                "a share's drop visited " + (r.testOnlySessionsVisited() - before));
        assertNotNull(r.lookup("busy-app-7"));
    }

    @Test
    void aRestartedRegistryDoesNotHandOutTheIdsOfTheOldOne() {
        // Tunnels outlive a server restart and keep their session ids: the first sessions of a
        // registry before and after a restart must differ.
        Set<String> ids = new HashSet<>();
        for (int restart = 0; restart < 2; restart++) {
            ShareRegistry r = new ShareRegistry(8);
            Share share = register(r, "my-app", OWNER);
            for (int i = 0; i < 3; i++) {
                String id = r.open(share, new EmbeddedChannel()).id();
                assertTrue(id.matches(RendezvousProtocol.SESSION_PATTERN), id);
                assertTrue(ids.add(id), "session id " + id + " handed out twice");
            }
        }
    }

    @Test
    void aSessionIdDrawnTwiceIsDrawnAgain() {
        PrimitiveIterator.OfLong draws = LongStream.of(7, 7, 7, 0xabcdefL).iterator();
        RandomGenerator replay = draws::nextLong;
        ShareRegistry r = new ShareRegistry(8, new NameAllocator(), replay);
        Share share = register(r, "my-app", OWNER);
        Session first = r.open(share, new EmbeddedChannel());
        Session second = r.open(share, new EmbeddedChannel());
        assertEquals("0000000000000007", first.id());
        assertEquals("0000000000abcdef", second.id());
        assertSame(first, r.session(first.id()));
    }

    @Test
    void aConnectRacingTheShareClosingOpensNoSession() {
        ShareRegistry r = new ShareRegistry(8);
        Share share = register(r, "my-app", OWNER);
        Channel connector = new EmbeddedChannel();
        Share found = r.lookup("my-app"); // the connector's CONNECT looks the share up ...
        r.drop(share.channel(), share); // ... its control connection closes on another loop ...
        assertNull(r.open(found, connector), "... and open must see that it is gone");
        assertEquals(List.of(), r.drop(connector, null).sessions(), "no session was left behind");

        // The same with a re-registration in between: the old registration is gone too.
        Share again = register(r, "my-app", OWNER);
        Share stale = r.lookup("my-app");
        Registration replaced = r.register("my-app", new EmbeddedChannel(), OWNER, ADDR);
        assertSame(again, replaced.replaced());
        assertNull(r.open(stale, connector));
        assertNotNull(r.open(replaced.share(), connector), "the live registration opens");
    }
}
