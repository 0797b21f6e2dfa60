package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Back-pressure end to end: a reader that takes 256 KB every 100 ms must slow the far writer down,
 * so what the writer got rid of minus what the reader took stays within the socket buffers plus
 * QUIC's flow-control window, instead of growing with time.
 */
class SlowReaderTest {
    // The stream's QUIC window (6, up to 16 MiB) and four socket buffers, with room.
    static final long BOUND = 64L << 20;

    @ParameterizedTest(name = "over {0}")
    @EnumSource(
            value = Transport.class,
            names = {"RELAY", "DIRECT"})
    void slowReaderSlowsTheWriterAndMemoryStaysBounded(Transport transport) throws Exception {
        AtomicLong read = new AtomicLong();
        try (TestServers.Tcp slow =
                        new TestServers.Tcp(
                                s -> {
                                    InputStream in = s.getInputStream();
                                    byte[] buf = new byte[256 << 10];
                                    while (true) {
                                        int n = in.readNBytes(buf, 0, buf.length);
                                        if (n <= 0) return;
                                        read.addAndGet(n);
                                        Thread.sleep(100);
                                    }
                                });
                Lab lab = Lab.with(transport)) {
            Connector c = lab.connect(lab.share(slow.port()).name());
            AtomicLong written = new AtomicLong();
            Socket s = new Socket("127.0.0.1", c.localAddress().getPort());
            Thread writer =
                    new Thread(
                            () -> {
                                byte[] chunk = new byte[64 << 10];
                                try (OutputStream out = s.getOutputStream()) {
                                    while (true) {
                                        out.write(chunk);
                                        written.addAndGet(chunk.length);
                                    }
                                } catch (Exception stopped) {
                                    // the test closed the socket
                                }
                            });
            writer.start();
            Runtime rt = Runtime.getRuntime();
            long maxBacklog = 0;
            long maxHeap = 0;
            for (int i = 0; i < 16; i++) {
                TimeUnit.MILLISECONDS.sleep(500);
                maxBacklog = Math.max(maxBacklog, written.get() - read.get());
                maxHeap = Math.max(maxHeap, rt.totalMemory() - rt.freeMemory());
            }
            s.close();
            writer.join(5_000);
            System.out.printf(
                    "slow reader: wrote %d, read %d, max backlog %d bytes, max heap %d MB%n",
                    written.get(), read.get(), maxBacklog, maxHeap >> 20);
            assertTrue(read.get() > 0, "the reader got data");
            assertTrue(maxBacklog < BOUND, "backlog " + maxBacklog + " stays under " + BOUND);
            // At full speed the writer would have pushed hundreds of MB in 8 s; it was held back.
            assertTrue(written.get() < read.get() + BOUND);
        }
    }
}
