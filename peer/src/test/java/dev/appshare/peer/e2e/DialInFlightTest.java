package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * A stream that ends while the sharer is still dialling the shared port: the dial is abandoned, and
 * no connection to the shared port is left open with nothing behind it.
 */
class DialInFlightTest {
    private static final Path PROC_TCP = Path.of("/proc/net/tcp");
    private static final Path PROC_TCP6 = Path.of("/proc/net/tcp6"); // Java's dual-stack sockets
    private static final String SYN_SENT = "02";

    @Test
    void aStreamClosedMidDialLeavesNoConnectionToTheSharedPort() throws Exception {
        assumeTrue(Files.isReadable(PROC_TCP), "needs Linux's /proc/net/tcp to see a dial");
        List<Socket> fillers = new ArrayList<>();
        // Backlog 1, never accepted until the end: once its queue is full, Linux drops the SYNs,
        // so the sharer's dial stays in flight (retrying its SYN) for as long as the test wants.
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
            Connector c = lab.connect(lab.share(port).name());
            try (Socket client = new Socket("127.0.0.1", c.localAddress().getPort())) {
                client.getOutputStream().write("hello".getBytes());
                assertTrue(
                        awaitSynSent(port, true, 10_000), "the sharer is dialling the shared port");
                c.close(); // the connector leaves: its QUIC connection, and so the stream, closes
            }
            // With the dial abandoned its SYN_SENT socket goes at once; without, it stays and
            // connects as soon as the queue has room.
            awaitSynSent(port, false, 2_000);
            for (Socket f : fillers) {
                try (Socket accepted = shared.accept()) {
                    // a filler, in the queue before the dial
                }
            }
            shared.setSoTimeout(6_000); // past the dial's SYN retries and connect timeout
            Socket dialled;
            try {
                dialled = shared.accept();
            } catch (SocketTimeoutException none) {
                return; // the dial never completed: nothing was left open
            }
            try (dialled) {
                dialled.setSoTimeout(5_000);
                int r;
                try {
                    r = dialled.getInputStream().read();
                } catch (SocketTimeoutException stillOpen) {
                    throw new AssertionError(
                            "the sharer left its connection to the shared port open");
                } catch (IOException reset) {
                    r = -1;
                }
                assertEquals(-1, r, "the sharer closed its connection to the shared port");
            }
        } finally {
            for (Socket f : fillers) f.close();
        }
    }

    /**
     * Waits until some socket is (or no socket is) in SYN_SENT towards 127.0.0.1:port, as an IPv4
     * socket or an IPv6 one with the IPv4-mapped address (as the JVM's sockets usually are).
     */
    private static boolean awaitSynSent(int port, boolean present, long timeoutMillis)
            throws Exception {
        String remote = String.format(Locale.ROOT, "0100007F:%04X", port); // little-endian IP
        long end = System.nanoTime() + timeoutMillis * 1_000_000;
        do {
            List<String> lines = new ArrayList<>(Files.readAllLines(PROC_TCP));
            if (Files.isReadable(PROC_TCP6)) lines.addAll(Files.readAllLines(PROC_TCP6));
            boolean found =
                    lines.stream()
                            .map(l -> l.trim().split("\\s+"))
                            .anyMatch(
                                    f ->
                                            f.length > 3
                                                    && f[2].endsWith(remote)
                                                    && f[3].equals(SYN_SENT));
            if (found == present) return true;
            Thread.sleep(20);
        } while (System.nanoTime() < end);
        return false;
    }
}
