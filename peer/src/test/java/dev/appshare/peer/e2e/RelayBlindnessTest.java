package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * The relay sees only ciphertext: a recording TCP proxy in front of the relay (the rendezvous sends
 * peers to it) captures everything the relay receives, and a known plaintext sent through the
 * tunnel many times never appears in it.
 */
class RelayBlindnessTest {
    static final String SECRET = "appshare-known-plaintext-7f3a9c";

    /** Forwards every connection to the relay and records every byte it forwards, both ways. */
    static final class RecordingProxy implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final ByteArrayOutputStream seen = new ByteArrayOutputStream();
        final ExecutorService pool = Executors.newCachedThreadPool();

        RecordingProxy(int relayPort) throws IOException {
            pool.execute(
                    () -> {
                        while (!socket.isClosed()) {
                            try {
                                Socket in = socket.accept();
                                Socket out = new Socket("127.0.0.1", relayPort);
                                pool.execute(() -> pump(in, out));
                                pool.execute(() -> pump(out, in));
                            } catch (IOException e) {
                                return;
                            }
                        }
                    });
        }

        void pump(Socket from, Socket to) {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (seen) {
                        seen.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                }
            } catch (IOException ignored) {
                // either side closed
            } finally {
                try {
                    to.close();
                    from.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }

        byte[] captured() {
            synchronized (seen) {
                return seen.toByteArray();
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            pool.shutdownNow();
        }
    }

    @Test
    void knownPlaintextNeverCrossesTheRelayInTheClear() throws Exception {
        try (Lab lab = new Lab("127.0.0.1:0");
                TestServers.Tcp echo = TestServers.echo()) {
            try (RecordingProxy proxy = new RecordingProxy(lab.relayPort())) {
                // Point the rendezvous at the proxy instead of the relay.
                lab.stopServer();
                lab.setRelayAdvertised("127.0.0.1:" + proxy.socket.getLocalPort());
                lab.startServer();
                Connector c = lab.connect(lab.share(echo.port()).name());
                StringBuilder payload = new StringBuilder();
                for (int i = 0; i < 2000; i++) payload.append(SECRET).append(i).append('\n');
                String text = payload.toString();
                assertEquals(
                        text.substring(0, 100),
                        ShareLifecycleTest.echoOnce(c.localAddress().getPort(), text)
                                .substring(0, 100));
                byte[] captured = proxy.captured();
                assertTrue(
                        captured.length > 2 * text.length(),
                        "the relay carried the traffic (" + captured.length + " bytes)");
                String asText = new String(captured, StandardCharsets.ISO_8859_1);
                assertFalse(asText.contains(SECRET), "plaintext visible to the relay");
                assertFalse(
                        asText.contains(SECRET.substring(0, 12)),
                        "a fragment of the plaintext visible to the relay");
            }
        }
    }
}
