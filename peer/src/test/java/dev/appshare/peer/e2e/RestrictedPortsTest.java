package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.share.Sharer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Restricted mode: a share exposes exactly its --port values, a connector picks among them with
 * --local L:REMOTE, and a stream for any other port is reset by the sharer while the rest carry on.
 */
class RestrictedPortsTest {
    private static final long LEN = 256 << 10;

    @Test
    void twoPortsThroughOneTunnelAndAnUnsharedOneIsRefused() throws Exception {
        int unshared = freePort();
        try (TestServers.Tcp echo = TestServers.echo();
                TestServers.Tcp source =
                        new TestServers.Tcp(s -> Bytes.send(s.getOutputStream(), LEN, 7));
                Lab lab = new Lab()) {
            Sharer sharer =
                    lab.share(
                            List.of(
                                    new InetSocketAddress("127.0.0.1", echo.port()),
                                    new InetSocketAddress("127.0.0.1", source.port())),
                            null);
            lab.awaitLine("Ports: " + echo.port() + ", " + source.port(), 0, 5_000);
            Connector c =
                    lab.connect(
                            sharer.name(),
                            List.of(
                                    Connector.Forward.exactly(local(0), echo.port()),
                                    Connector.Forward.exactly(local(0), source.port()),
                                    Connector.Forward.exactly(local(0), unshared)),
                            lab.console());
            List<InetSocketAddress> at = c.localAddresses();

            assertEchoes(at.get(0), 1);
            assertEquals(expected(), drain(at.get(1)), "the second port's bytes");

            PrintStream stderr = System.err;
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            try (Socket s = open(at.get(2))) {
                try {
                    s.getOutputStream()
                            .write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.UTF_8));
                } catch (java.net.SocketException refusedFirst) {
                    // the refusal (a reset) can beat the request: the same outcome
                }
                assertEquals(-1, readOrReset(s.getInputStream()), "nothing from an unshared port");
                waitFor(log, "refused: the share does not expose port " + unshared);
            } finally {
                System.setErr(stderr);
            }

            // The tunnel and its other ports carry on.
            assertEchoes(at.get(0), 2);
            assertEquals(expected(), drain(at.get(1)), "the second port's bytes, again");
        }
    }

    /** --local P on a share of several ports reaches the share's port P. */
    @Test
    void aBareLocalPortReachesTheSameSharedPort() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                TestServers.Tcp source =
                        new TestServers.Tcp(s -> Bytes.send(s.getOutputStream(), LEN, 7));
                Lab lab = new Lab()) {
            Sharer sharer =
                    lab.share(
                            List.of(
                                    new InetSocketAddress("127.0.0.1", echo.port()),
                                    new InetSocketAddress("127.0.0.1", source.port())),
                            null);
            // The same port number as the shared service, on another loopback address.
            Connector c =
                    lab.connect(
                            sharer.name(),
                            List.of(
                                    Connector.Forward.sameOrOnly(
                                            new InetSocketAddress("127.0.0.2", source.port()))),
                            lab.console());
            assertEquals(expected(), drain(c.localAddress()));
        }
    }

    private static InetSocketAddress local(int port) {
        return new InetSocketAddress("127.0.0.1", port);
    }

    private static Bytes.Digest expected() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Bytes.send(b, LEN, 7);
        return Bytes.drain(new ByteArrayInputStream(b.toByteArray()));
    }

    private static void assertEchoes(InetSocketAddress at, long seed) throws Exception {
        try (Socket s = open(at)) {
            String[] sent = new String[1];
            Thread writer =
                    new Thread(
                            () -> {
                                try {
                                    sent[0] = Bytes.send(s.getOutputStream(), LEN, seed);
                                    s.shutdownOutput();
                                } catch (IOException ignored) {
                                    // the digest comparison below fails
                                }
                            });
            writer.start();
            Bytes.Digest got = Bytes.drain(s.getInputStream());
            writer.join(20_000);
            assertEquals(new Bytes.Digest(sent[0], LEN), got, "echoed bytes");
        }
    }

    private static Bytes.Digest drain(InetSocketAddress at) throws IOException {
        try (Socket s = open(at)) {
            s.shutdownOutput();
            return Bytes.drain(s.getInputStream());
        }
    }

    private static Socket open(InetSocketAddress at) throws IOException {
        Socket s = new Socket(at.getAddress(), at.getPort());
        s.setSoTimeout(20_000);
        return s;
    }

    /** -1 for an end or a reset (both say "no service"); a byte if one came. */
    private static int readOrReset(InputStream in) {
        try {
            return in.read();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void waitFor(ByteArrayOutputStream log, String text)
            throws InterruptedException {
        for (int i = 0; i < 250; i++) {
            if (log.toString(StandardCharsets.UTF_8).contains(text)) return;
            Thread.sleep(20);
        }
        assertTrue(log.toString(StandardCharsets.UTF_8).contains(text), "log: " + log);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
