package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import dev.appshare.wire.tunnel.PausedStreams;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Local clients that stop reading a large answer (a paused download) must not stall the tunnel's
 * other connections, and the process bounds how many it keeps paused ({@link PausedStreams}).
 *
 * <p>The shared application answers a {@code B} with bytes until the connection breaks, and an
 * {@code S} with {@link #SMALL} bytes and a close.
 */
class PausedReadersTest {
    static final long SMALL = 1L << 20;
    static final long SEED = 11;

    final AtomicLong bigWritten = new AtomicLong();
    final AtomicInteger bigEnded = new AtomicInteger();

    TestServers.Tcp app() throws IOException {
        return new TestServers.Tcp(
                s -> {
                    int what = s.getInputStream().read();
                    OutputStream out = s.getOutputStream();
                    if (what == 'S') {
                        Bytes.send(out, SMALL, SEED);
                        return;
                    }
                    byte[] chunk = new byte[64 << 10];
                    try {
                        for (int i = 0; i < 100_000; i++) { // 6.4 GB at most
                            out.write(chunk);
                            bigWritten.addAndGet(chunk.length);
                        }
                    } finally {
                        bigEnded.incrementAndGet();
                    }
                });
    }

    /** Opens {@code n} local connections that ask for the endless answer and never read it. */
    static List<Socket> stall(Connector c, int n) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            s.setReceiveBufferSize(4096);
            s.connect(c.localAddress());
            s.getOutputStream().write('B');
            sockets.add(s);
        }
        return sockets;
    }

    /** Until the app's writes have not moved for a second: every stalled connection is full. */
    void awaitFull() throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 60 && bigWritten.get() != last; i++) {
            last = bigWritten.get();
            TimeUnit.SECONDS.sleep(1);
        }
    }

    /** A new local connection gets the whole small answer, byte for byte. */
    static void aNewConnectionGetsAWholeAnswer(Connector c) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(c.localAddress());
            s.setSoTimeout(10_000); // the stall this guards against lasted as long as the tunnel
            s.getOutputStream().write('S');
            String expected =
                    Bytes.send(OutputStream.nullOutputStream(), SMALL, SEED); // the same bytes
            Bytes.Digest got = Bytes.drain(s.getInputStream());
            assertEquals(SMALL, got.length());
            assertEquals(expected, got.sha256());
        }
    }

    @ParameterizedTest(name = "over {0}")
    @EnumSource(
            value = Transport.class,
            names = {"RELAY", "DIRECT"})
    void localClientsThatStopReadingDoNotStallTheOthers(Transport transport) throws Exception {
        try (TestServers.Tcp app = app();
                Lab lab = Lab.with(transport)) {
            Connector c = lab.connect(lab.share(app.port()).name());
            // Six streams' windows (6 MiB each) are more than the 24 MiB connection window that
            // quiche renewed only once half of it was free: with it, this stalled every stream.
            List<Socket> stalled = stall(c, 6);
            awaitFull();
            aNewConnectionGetsAWholeAnswer(c);
            aNewConnectionGetsAWholeAnswer(c);
            assertEquals(0, bigEnded.get(), "under the budget, no paused reader is reset");
            for (Socket s : stalled) s.close();
        }
    }

    @Test
    void pastTheCeilingThePausedAreResetAndTheTunnelStillAnswers() throws Exception {
        int n = PausedStreams.CEILING + 4;
        try (TestServers.Tcp app = app();
                Lab lab = Lab.with(Transport.DIRECT)) {
            Connector c = lab.connect(lab.share(app.port()).name());
            long started = System.nanoTime();
            List<Socket> stalled = stall(c, n);
            awaitFull();
            // Past the ceiling those paused for a second went; the app saw their connections end.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (bigEnded.get() < n - PausedStreams.CEILING && System.nanoTime() < deadline)
                TimeUnit.MILLISECONDS.sleep(20);
            int ended = bigEnded.get();
            assertTrue(ended >= n - PausedStreams.CEILING, ended + " of " + n + " reset");
            // ... and no more, unless this machine was so slow that 10 s have passed already.
            if (System.nanoTime() - started < PausedStreams.MIN_STALL_NANOS * 9 / 10)
                assertTrue(ended < n - PausedStreams.BUDGET, ended + " of " + n + " reset early");
            aNewConnectionGetsAWholeAnswer(c);
            // Those paused for 10 s go too, down to the budget.
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (bigEnded.get() < n - PausedStreams.BUDGET && System.nanoTime() < deadline)
                TimeUnit.MILLISECONDS.sleep(100);
            TimeUnit.SECONDS.sleep(1); // no more than that
            assertEquals(n - PausedStreams.BUDGET, bigEnded.get());
            aNewConnectionGetsAWholeAnswer(c);
            for (Socket s : stalled) s.close();
        }
    }

    /**
     * Readers that keep reading, only slower than the tunnel, are not reset, even when more of them
     * than the ceiling have their sockets unwritable for seconds at a time (the kernel's send
     * buffer turns writable again only once about a third of its few MiB is sent): the kernel tells
     * that it still sends them data.
     */
    @Test
    void slowReadersPastTheCeilingAreNotReset() throws Exception {
        int n = PausedStreams.CEILING + 4;
        try (TestServers.Tcp app = app();
                Lab lab = Lab.with(Transport.DIRECT)) {
            Connector c = lab.connect(lab.share(app.port()).name());
            List<Socket> readers = stall(c, n);
            AtomicLong read = new AtomicLong();
            AtomicInteger broken = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
            for (Socket s : readers) {
                Thread t =
                        new Thread(
                                () -> { // 256 KiB a second: 16 KiB every 62.5 ms
                                    byte[] buf = new byte[16 << 10];
                                    try {
                                        while (System.nanoTime() < end) {
                                            int n16 =
                                                    s.getInputStream()
                                                            .readNBytes(buf, 0, buf.length);
                                            if (n16 < buf.length) throw new IOException("ended");
                                            read.addAndGet(n16);
                                            Thread.sleep(62);
                                        }
                                    } catch (IOException | InterruptedException e) {
                                        broken.incrementAndGet();
                                    }
                                });
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) t.join(30_000);
            assertEquals(0, broken.get(), "readers whose connection broke");
            assertEquals(0, bigEnded.get(), "answers the app saw end");
            assertTrue(read.get() > n * (1L << 20), "read " + read.get());
            for (Socket s : readers) s.close();
        }
    }
}
