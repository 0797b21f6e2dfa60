package dev.appshare.peer.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code appshare doctor}'s checks against a real server on loopback: everything is reachable and
 * there is no NAT (the lab, scripts/natlab, runs it behind real ones); a server that is not there;
 * a relay that is not there.
 */
class NetworkCheckTest {
    private static EventLoopGroup group;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static AppshareServer server(AppshareServer.Options o) throws Exception {
        return AppshareServer.start(
                o, new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()), group);
    }

    private static AppshareServer server() throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return server(AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", 0)));
            } catch (AppshareServer.ListenFailure | IllegalStateException udpTaken) {
                if (attempt >= 5) throw udpTaken;
            }
        }
    }

    @Test
    void onLoopbackEverythingPassesAndThereIsNoNat() throws Exception {
        try (AppshareServer s = server()) {
            InetSocketAddress at = s.rendezvous().localAddress();
            Findings f = NetworkCheck.run("127.0.0.1:" + at.getPort(), at);

            assertTrue(f.serverReachable(), f.rendezvousError());
            assertEquals("2", f.rendezvous().version());
            assertEquals(s.rendezvous().stunAltAddress().getPort(), f.rendezvous().altPort());
            assertNotNull(f.rendezvousRttMillis());
            assertEquals(s.relay().localAddress().getPort(), f.relayAddress().getPort());
            assertNotNull(f.relayConnectMillis(), f.relayError());

            assertEquals(new InetSocketAddress("127.0.0.1", f.localPort()), f.mapped());
            assertEquals(f.mapped(), f.mappedViaAlt(), "one mapping for both ports");
            assertEquals(s.rendezvous().stunAltAddress().getPort(), f.altPort());
            assertTrue(f.publicAddress(), "127.0.0.1 is this host's own");
            assertEquals(NatType.NONE, f.natType());
            assertEquals(Boolean.TRUE, f.filteringOpen(), "the other port's answer got in");
            assertNull(f.hairpin(), "no NAT: not applicable");
            assertEquals(1472, f.largestPayload());
            assertTrue(Verdict.of(f).startsWith("direct with any peer"), Verdict.of(f));

            String json = DoctorReport.json(f);
            assertTrue(json.contains("\"nat\":\"none\""), json);
            assertTrue(json.contains("\"reachable\":true"), json);
            assertTrue(json.contains("\"max_udp_payload\":1472"), json);
            assertTrue(
                    DoctorReport.text(f)
                            .get(DoctorReport.text(f).size() - 1)
                            .startsWith("Verdict: direct"));
        }
    }

    @Test
    void aServerThatIsNotThereIsUnreachableAndUdpGetsNoAnswer() throws Exception {
        int port;
        try (ServerSocket tcp = new ServerSocket(0);
                DatagramSocket udp = new DatagramSocket(tcp.getLocalPort())) {
            port = tcp.getLocalPort(); // nothing listens there once these close
        }
        long start = System.nanoTime();
        Findings f =
                NetworkCheck.run("127.0.0.1:" + port, new InetSocketAddress("127.0.0.1", port));
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertFalse(f.serverReachable());
        assertEquals("connection refused", f.rendezvousError());
        assertNull(f.mapped());
        assertEquals(NatType.UDP_BLOCKED, f.natType());
        assertTrue(Verdict.of(f).startsWith("cannot reach the server"), Verdict.of(f));
        assertTrue(DoctorReport.json(f).contains("\"reachable\":false"));
        // every question has a deadline: a few seconds in all, not the sum of them
        assertTrue(millis < 10_000, millis + " ms");
    }

    @Test
    void aRelayThatIsNotThereIsSaidInTheVerdict() throws Exception {
        int dead;
        try (ServerSocket tcp = new ServerSocket(0)) {
            dead = tcp.getLocalPort();
        }
        try (AppshareServer s =
                server(
                        AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", 0))
                                .withExternalRelay("127.0.0.1:" + dead))) {
            InetSocketAddress at = s.rendezvous().localAddress();
            Findings f = NetworkCheck.run("127.0.0.1:" + at.getPort(), at);
            assertTrue(f.serverReachable());
            assertNull(f.relayConnectMillis());
            assertEquals("connection refused", f.relayError());
            assertTrue(
                    Verdict.of(f).contains("the relay at 127.0.0.1:" + dead + " is unreachable"),
                    Verdict.of(f));
        }
    }
}
