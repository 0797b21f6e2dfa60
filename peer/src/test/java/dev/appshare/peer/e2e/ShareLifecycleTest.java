package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.path.UdpGate;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.tunnel.TunnelCodecs;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Shares and servers come and go; connectors and open connections react promptly and recover. */
class ShareLifecycleTest {

    static String echoOnce(int port, String text) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.UTF_8);
        }
    }

    /**
     * A share that leaves mid-transfer ends the connector's local connections promptly, and the
     * connector keeps waiting for it: its port stays open and holds new connections. (A share
     * process that starts again draws a new code, so the share that comes back with this code is
     * the same one after it lost the rendezvous: the restart tests below.)
     */
    @Test
    void shareLeavingMidTransferClosesConnectionsAndConnectKeepsWaiting() throws Exception {
        try (Lab lab = new Lab();
                TestServers.Tcp endless =
                        new TestServers.Tcp(
                                s -> {
                                    byte[] chunk = new byte[16 << 10];
                                    while (true) s.getOutputStream().write(chunk);
                                })) {
            Sharer sharer = lab.share(endless.port(), "leaving-otter");
            Connector c = lab.connect(sharer.name());
            int port = c.localAddress().getPort();
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(15_000);
                InputStream in = s.getInputStream();
                in.readNBytes(1 << 20);
                sharer.close();
                long t0 = System.nanoTime();
                try {
                    while (in.read(new byte[65536]) >= 0) {}
                } catch (IOException reset) {
                    // closed by reset: also an end
                }
                assertTrue(
                        System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10),
                        "connection ended promptly");
            }
            // The connector did not give up: a new connection is accepted and held for the
            // share's return (not closed at once).
            Thread.sleep(1_000);
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(1_000);
                assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read());
            }
        }
    }

    @Test
    void serverRestartUnderALiveShare() throws Exception {
        try (Lab lab = new Lab();
                TestServers.Tcp echo = TestServers.echo()) {
            Sharer sharer = lab.share(echo.port());
            String code = sharer.name();
            String name = ShareCode.parse(code).name(); // what the rendezvous knows
            Connector before = lab.connect(code);
            assertEquals("one", echoOnce(before.localAddress().getPort(), "one"));

            lab.stopServer();
            lab.startServer(); // same ports
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lab.rendezvous.registry().lookup(name) == null && System.nanoTime() < deadline)
                Thread.sleep(100);
            assertNotNull(
                    lab.rendezvous.registry().lookup(name), "the share re-registered its name");

            Connector after = lab.connect(code);
            assertEquals("two", echoOnce(after.localAddress().getPort(), "two"));
            // The connector from before the restart finds the share again too.
            String got = null;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got == null && System.nanoTime() < deadline) {
                try {
                    got = echoOnce(before.localAddress().getPort(), "three");
                } catch (IOException notYet) {
                    Thread.sleep(200);
                }
            }
            assertEquals("three", got);
        }
    }

    /**
     * A direct tunnel does not need the server once it is up, so it outlives a restart, and keeps
     * its session id. The restarted server's sessions must not collide with it: a connector that
     * arrives after the restart gets its own tunnel (within Lab.connect's 20 s, which the first
     * tunnel's session id being handed out again would miss: the share would refuse that INCOMING
     * and the connector's ICE would give up), and the first tunnel carries on.
     */
    @Test
    void aTunnelThatOutlivesAServerRestartDoesNotBlockNewConnectors() throws Exception {
        try (Lab lab = Lab.with(Transport.DIRECT);
                TestServers.Tcp echo = TestServers.echo()) {
            Sharer sharer = lab.share(echo.port());
            String code = sharer.name();
            String name = ShareCode.parse(code).name(); // what the rendezvous knows
            Connector before = lab.connect(code);
            assertEquals("one", echoOnce(before.localAddress().getPort(), "one"));

            lab.stopServer();
            lab.startServer(); // same ports
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lab.rendezvous.registry().lookup(name) == null && System.nanoTime() < deadline)
                Thread.sleep(100);
            assertNotNull(
                    lab.rendezvous.registry().lookup(name), "the share re-registered its name");

            Connector after = lab.connect(code);
            assertEquals("two", echoOnce(after.localAddress().getPort(), "two"));
            assertEquals("three", echoOnce(before.localAddress().getPort(), "three"));
        }
    }

    /**
     * A connector whose tunnel outlived a server restart has nothing to ask the server, so it does
     * not hold a control connection it would never use: the server would close one that sends no
     * CONNECT after its handshake timeout (the Lab's: 3 s) and the connector would reconnect, every
     * few seconds for as long as the tunnel lives. Over three handshake timeouts the restarted
     * server accepts the share's connection and at most one more. When the tunnel ends (its direct
     * path cut, as a network change would) the connector reconnects and finds the share again.
     */
    @Test
    void aConnectorWhoseTunnelOutlivesAServerRestartDoesNotChurnControlConnections()
            throws Exception {
        try (Lab lab = Lab.with(Transport.DIRECT);
                TestServers.Tcp echo = TestServers.echo()) {
            // A gate in front of each of the connector's tunnel sockets, open until cut below.
            List<UdpGate> gates = new CopyOnWriteArrayList<>();
            lab.connectorTap =
                    () -> {
                        UdpGate g = new UdpGate(UdpGate.Mode.OPEN);
                        gates.add(g);
                        return g;
                    };
            Sharer sharer = lab.share(echo.port());
            String code = sharer.name();
            String name = ShareCode.parse(code).name(); // what the rendezvous knows
            Connector c = lab.connect(code);
            int port = c.localAddress().getPort();
            assertEquals("one", echoOnce(port, "one"));

            lab.stopServer();
            lab.startServer(); // same ports
            Thread.sleep(3 * 3_000 + 1_000);
            long accepted = lab.rendezvous.testOnlyAcceptedConnections();
            assertTrue(
                    accepted <= 2,
                    "the restarted server accepted "
                            + accepted
                            + " control connections (the share's and the connector's)");
            assertNotNull(
                    lab.rendezvous.registry().lookup(name), "the share re-registered its name");
            assertEquals("two", echoOnce(port, "two"));

            // The tunnel ends: the connector reconnects to the rendezvous, asks again and proves
            // the code to the same share. Until it has noticed the old tunnel's end, a connection
            // may still go into that tunnel and end without an answer. (A share that closes and
            // starts again has a new code: the connector could not find it with this one.)
            // The cut: the gates there are now (a new tunnel's socket gets an open one). A
            // direct-only tunnel ends at its QUIC idle timeout once its path is cut.
            gates.forEach(g -> g.mode = UdpGate.Mode.ALL);
            String got = null;
            long deadline =
                    System.nanoTime()
                            + TimeUnit.SECONDS.toNanos(TunnelCodecs.IDLE_TIMEOUT_SECONDS + 30);
            while (!"three".equals(got) && System.nanoTime() < deadline) {
                try {
                    got = echoOnce(port, "three");
                } catch (IOException notYet) {
                    got = null;
                }
                if (!"three".equals(got)) Thread.sleep(200);
            }
            assertEquals("three", got);
            assertTrue(
                    lab.rendezvous.testOnlyAcceptedConnections() > accepted,
                    "the connector reconnected to ask again");
        }
    }
}
