package dev.appshare.rendezvous;

import static dev.appshare.rendezvous.ControlClient.connectLine;
import static dev.appshare.rendezvous.ControlClient.field;
import static dev.appshare.rendezvous.ControlClient.newKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions over real sockets on loopback: what a CONNECT hands each side, one session per connector
 * at a time (END before asking again), and the PAKE and SIGNAL messages the server passes between
 * the two peers of a session, unchanged and within the session's budget.
 *
 * <p>One event loop: every connection is served in order by the same thread, so a PING's PONG comes
 * after everything the server forwarded before it, whoever sent it.
 */
class SessionTest {
    private static EventLoopGroup group;
    private RendezvousServer server;
    private final KeyPair shareKey = newKey();
    private ControlClient share;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() throws Exception {
        server = ControlClient.startServer(new RendezvousServer.Config(), group);
        share = new ControlClient(server.localAddress().getPort());
        assertEquals("REGISTERED name=sess-app", share.register(shareKey, "sess-app"));
    }

    @AfterEach
    void stop() throws Exception {
        share.close();
        server.close();
    }

    private ControlClient client(String from) throws Exception {
        return new ControlClient(from, server.localAddress().getPort());
    }

    /** CONNECTs to sess-app; returns the session id, after the share read its INCOMING. */
    private String connect(ControlClient connector) throws Exception {
        connector.send(connectLine("sess-app"));
        String accepted = connector.read();
        assertTrue(accepted.startsWith("ACCEPTED "), accepted);
        String session = field(accepted, "session");
        String incoming = share.read();
        assertTrue(incoming.startsWith("INCOMING session=" + session + " "), incoming);
        return session;
    }

    /**
     * PING, then everything before the PONG. Messages from two connections are read in no set
     * order, so a test that checks what one peer was forwarded first has the sender PING: its PONG
     * comes once the server has handled (and, one loop, written out) all it sent before.
     */
    private static List<String> untilPong(ControlClient c) throws Exception {
        c.send("PING");
        List<String> before = new ArrayList<>();
        for (String m = c.read(); !m.equals("PONG"); m = c.read()) before.add(m);
        return before;
    }

    private static void assertErrorAndClose(ControlClient c, String code) throws Exception {
        String m = c.read();
        assertTrue(m.startsWith("ERROR code=" + code + " "), m);
        assertTrue(c.closedWithin(5_000), "closed after " + m);
    }

    @Test
    void incomingCarriesTheConnectorsAddressAndNeitherSideGetsAFingerprint() throws Exception {
        String key = RegistrationProof.encodeKey(shareKey.getPublic());
        String fp = RegistrationProof.fingerprint(shareKey.getPublic());
        try (ControlClient connector = client("127.0.0.5")) {
            connector.send(connectLine("sess-app"));
            RendezvousMessage accepted = connector.readMessage();
            RendezvousMessage incoming = share.readMessage();
            assertEquals(RendezvousProtocol.ACCEPTED, accepted.type());
            assertEquals(Set.of("session", "token", "relay", "alt"), accepted.fields().keySet());
            assertEquals(RendezvousProtocol.INCOMING, incoming.type());
            assertEquals(
                    Set.of("session", "from", "token", "relay", "alt"), incoming.fields().keySet());
            assertEquals(accepted.get("alt"), incoming.get("alt"), "the second STUN port");
            assertEquals("127.0.0.5", incoming.get("from"), "the connector's address");
            assertEquals(accepted.get("session"), incoming.get("session"));
            assertEquals(accepted.get("token"), incoming.get("token"));
            assertEquals(accepted.get("relay"), incoming.get("relay"));
            assertTrue(accepted.get("session").matches(RendezvousProtocol.SESSION_PATTERN));
            for (RendezvousMessage m : List.of(accepted, incoming)) {
                assertFalse(m.encode().contains(key), "the share's key: " + m);
                assertFalse(m.encode().contains(fp), "the share's fingerprint: " + m);
            }
        }
        assertEquals(RendezvousProtocol.END, share.readMessage().type(), "the first one left");
        try (ControlClient other = client("127.0.0.6")) {
            other.send(connectLine("sess-app"));
            assertTrue(other.read().startsWith("ACCEPTED "));
            assertEquals("127.0.0.6", share.readMessage().get("from"), "each its own");
        }
    }

    @Test
    void aConnectWhileHoldingASessionIsABadRequestAndClosed() throws Exception {
        try (ControlClient connector = client("127.0.0.5")) {
            connect(connector);
            connector.send(connectLine("sess-app"));
            assertErrorAndClose(connector, RendezvousProtocol.E_BAD_REQUEST);
        }
        List<String> atShare = untilPong(share);
        assertEquals(1, atShare.size(), "no second INCOMING; the share stays: " + atShare);
        assertTrue(atShare.get(0).startsWith("END session="), "the closed connector's END");
    }

    @Test
    void afterEndTheConnectorMayConnectAgain() throws Exception {
        try (ControlClient connector = client("127.0.0.5")) {
            String first = connect(connector);
            connector.send("END session=" + first);
            assertEquals(List.of(), untilPong(connector));
            assertEquals("END session=" + first, share.read(), "the share is told");
            String second = connect(connector);
            assertNotEquals(first, second);

            // The first session is over: nothing goes through it any more, the second works.
            share.send("SIGNAL session=" + first + " cand=old");
            share.send("SIGNAL session=" + second + " cand=new");
            assertEquals(List.of(), untilPong(share)); // the server has passed them on
            assertEquals(List.of("SIGNAL session=" + second + " cand=new"), untilPong(connector));

            // The share may end it too; then the connector asks again.
            share.send("END session=" + second);
            assertEquals(List.of(), untilPong(share));
            assertEquals(List.of("END session=" + second), untilPong(connector), "it is told");
            assertNotEquals(second, connect(connector));
        }
    }

    /** A share frees a connector's PAKE slot when the connector walks away, not at its timeout. */
    @Test
    void aConnectorThatLeavesEndsItsSessionAtTheShare() throws Exception {
        String session;
        try (ControlClient connector = client("127.0.0.5")) {
            session = connect(connector);
        }
        assertEquals("END session=" + session, share.read());
        assertEquals(List.of(), untilPong(share), "once");
    }

    @Test
    void endForAnotherPeersSessionIsIgnored() throws Exception {
        try (ControlClient connector = client("127.0.0.5");
                ControlClient other = client("127.0.0.6");
                ControlClient stranger = client("127.0.0.7")) {
            String session = connect(connector);
            connect(other);
            other.send("END session=" + session);
            stranger.send("END session=" + session);
            assertEquals(List.of(), untilPong(other), "no ERROR, no close");
            assertEquals(List.of(), untilPong(stranger), "no ERROR, no close");

            share.send("SIGNAL session=" + session + " cand=still");
            assertEquals(List.of(), untilPong(share));
            assertEquals(
                    List.of("SIGNAL session=" + session + " cand=still"),
                    untilPong(connector),
                    "the session lives");
            connector.send(connectLine("sess-app"));
            assertErrorAndClose(connector, RendezvousProtocol.E_BAD_REQUEST); // it holds one still
        }
    }

    @Test
    void pakeIsForwardedBothWaysUnchanged() throws Exception {
        try (ControlClient connector = client("127.0.0.5")) {
            String session = connect(connector);
            String[] fromConnector = {
                "PAKE session=" + session + " step=1 data=" + "Ab-_".repeat(100),
                "PAKE session=" + session + " step=3 data=x",
            };
            String[] fromShare = {
                "PAKE session=" + session + " step=2 data=" + "z9".repeat(300),
                "PAKE session=" + session + " refused=guesses",
            };
            for (String m : fromConnector) connector.send(m);
            assertEquals(List.of(), untilPong(connector)); // the server has passed them on
            assertEquals(List.of(fromConnector), untilPong(share));
            for (String m : fromShare) share.send(m);
            assertEquals(List.of(), untilPong(share));
            assertEquals(List.of(fromShare), untilPong(connector));
        }
    }

    @Test
    void pakeAndSignalShareTheSessionsBudgetEachWay() throws Exception {
        int max = RendezvousProtocol.MAX_SIGNALS_PER_SESSION;
        try (ControlClient connector = client("127.0.0.5")) {
            String session = connect(connector);
            List<String> sent = new ArrayList<>();
            for (int i = 0; i < max + 20; i++) {
                sent.add(
                        i % 3 == 0
                                ? "PAKE session=" + session + " step=1 data=n" + i
                                : "SIGNAL session=" + session + " n=" + i);
            }
            for (String m : sent) connector.send(m);
            assertEquals(List.of(), untilPong(connector), "dropped, not refused");
            assertEquals(sent.subList(0, max), untilPong(share), "the first " + max + " only");

            share.send("PAKE session=" + session + " step=2 data=back");
            assertEquals(List.of(), untilPong(share));
            assertEquals(
                    List.of("PAKE session=" + session + " step=2 data=back"),
                    untilPong(connector),
                    "the share's budget is its own");
        }
    }

    @Test
    void pakeOrSignalForAnotherPeersSessionIsABadRequest() throws Exception {
        try (ControlClient connector = client("127.0.0.5");
                ControlClient other = client("127.0.0.6");
                ControlClient otherShare = client("127.0.0.8")) {
            String session = connect(connector);
            connect(other);
            other.send("PAKE session=" + session + " step=1 data=AAAA");
            assertErrorAndClose(other, RendezvousProtocol.E_BAD_REQUEST);

            assertTrue(otherShare.register(newKey(), "other-app").startsWith("REGISTERED "));
            otherShare.send("PAKE session=" + session + " refused=busy");
            assertErrorAndClose(otherShare, RendezvousProtocol.E_BAD_REQUEST);

            // Only the END of the bad peer's own session (it was closed) reached the share.
            List<String> atShare = untilPong(share);
            assertEquals(1, atShare.size(), "nothing else reached the share: " + atShare);
            assertTrue(atShare.get(0).startsWith("END session="), atShare.toString());
            assertNotEquals("END session=" + session, atShare.get(0));
            assertEquals(List.of(), untilPong(connector), "nor its connector");
            connector.send("PAKE session=" + session + " step=1 data=ok");
            assertEquals(List.of(), untilPong(connector));
            assertEquals(List.of("PAKE session=" + session + " step=1 data=ok"), untilPong(share));
        }
    }
}
