package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The share's log line for a shared port it cannot reach says what happened: a refusal is
 * "connection refused", a dial that gets no answer "timed out" (netty's ConnectTimeoutException is
 * a ConnectException too, so a check for that alone calls both refusals). Either way the
 * connector's client sees its connection end.
 */
class TargetDialFailureTest {

    @Test
    void aSharedPortThatNeverAnswersIsReportedAsATimeout() throws Exception {
        List<Socket> fillers = new ArrayList<>();
        // Backlog 1, never accepted: once its queue is full, Linux drops further SYNs, so the
        // share's dial gets no answer at all (as from a host that drops packets).
        try (ServerSocket shared = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Lab lab = Lab.with(Transport.RELAY)) {
            int port = shared.getLocalPort();
            for (int i = 0; i < 10; i++) {
                Socket s = new Socket();
                try {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 300);
                    fillers.add(s);
                } catch (SocketTimeoutException full) {
                    s.close();
                    break;
                }
            }
            String log = dialThroughTunnel(lab, port);
            assertTrue(log.contains("timed out after 5 s"), log);
            assertFalse(log.contains("connection refused"), log);
        } finally {
            for (Socket f : fillers) f.close();
        }
    }

    @Test
    void aSharedPortThatRefusesIsReportedAsRefused() throws Exception {
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort(); // nothing listens there once this closes
        }
        try (Lab lab = Lab.with(Transport.RELAY)) {
            String log = dialThroughTunnel(lab, port);
            assertTrue(log.contains("connection refused"), log);
            assertFalse(log.contains("timed out"), log);
        }
    }

    /**
     * Shares {@code port}, connects, and opens one connection through the tunnel; returns what was
     * logged once that connection has ended.
     */
    private static String dialThroughTunnel(Lab lab, int port) throws Exception {
        Connector c = lab.connect(lab.share(port).name());
        try (StderrCapture stderr = new StderrCapture();
                Socket client = new Socket("127.0.0.1", c.localAddress().getPort())) {
            client.setSoTimeout(20_000);
            client.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            int r;
            try {
                r = client.getInputStream().read();
            } catch (SocketTimeoutException stillOpen) {
                throw new AssertionError("the connection through the tunnel did not end");
            } catch (IOException reset) {
                r = -1;
            }
            assertEquals(-1, r, "the connection through the tunnel ended");
            // The share logs before it resets the stream, so the line is there by now.
            return stderr.text();
        }
    }
}
