package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.path.UdpGate;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * One QUIC tunnel moving between paths under a live 200 MB transfer, with --transport auto: from
 * the relay to the direct path once it answers, and back to the relay when the direct path is cut
 * (its datagrams dropped at the socket, as a firewall would). Bytes are compared by SHA-256.
 */
class PathMoveTest {
    static final long SIZE = 200L << 20;
    static final long MOVE_AFTER = 20L << 20;

    @Test
    void transferStartedOnTheRelayFinishesOnTheDirectPath() throws Exception {
        UdpGate cut =
                new UdpGate(
                        UdpGate.Mode.ALL_BUT_STUN); // ICE validates a pair that carries nothing yet
        CompletableFuture<String> sent = new CompletableFuture<>();
        try (TestServers.Tcp server =
                        new TestServers.Tcp(
                                s -> {
                                    sent.complete(Bytes.send(s.getOutputStream(), SIZE, 7));
                                    s.shutdownOutput();
                                    s.getInputStream().read();
                                });
                Lab lab = Lab.with(Transport.AUTO)) {
            lab.connectorTap = () -> cut;
            Connector c = lab.connect(lab.share(server.port()).name());
            assertTrue(lab.awaitLine("Path: ", 0, 10_000).startsWith("Path: relay"));
            int before = lab.consoleLines.size();
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                s.setSoTimeout(60_000);
                Counted in = new Counted(s.getInputStream());
                CompletableFuture<Bytes.Digest> got =
                        CompletableFuture.supplyAsync(() -> drain(in));
                awaitCount(in, MOVE_AFTER);
                cut.mode = UdpGate.Mode.OPEN;
                lab.awaitLine("Path: direct", before, 10_000);
                long atMove = in.count.get();
                Bytes.Digest d = got.get(120, TimeUnit.SECONDS);
                assertEquals(SIZE, d.length());
                assertEquals(sent.get(10, TimeUnit.SECONDS), d.sha256());
                assertTrue(
                        atMove > 0 && atMove < SIZE, "the move happened mid-transfer: " + atMove);
            }
        }
    }

    @Test
    void transferOnTheDirectPathFinishesOnTheRelayWhenDirectIsCut() throws Exception {
        UdpGate cut = new UdpGate(UdpGate.Mode.OPEN);
        CompletableFuture<Bytes.Digest> received = new CompletableFuture<>();
        try (TestServers.Tcp server =
                        new TestServers.Tcp(
                                s -> received.complete(Bytes.drain(s.getInputStream())));
                Lab lab = Lab.with(Transport.AUTO)) {
            lab.connectorTap = () -> cut;
            Connector c = lab.connect(lab.share(server.port()).name());
            lab.awaitLine("Path: direct", 0, 10_000);
            int before = lab.consoleLines.size();
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                CountedOut out = new CountedOut(s.getOutputStream());
                CompletableFuture<String> sent =
                        CompletableFuture.supplyAsync(
                                () -> {
                                    try {
                                        String digest = Bytes.send(out, SIZE, 8);
                                        s.shutdownOutput();
                                        return digest;
                                    } catch (IOException e) {
                                        throw new RuntimeException(e);
                                    }
                                });
                while (out.count.get() < MOVE_AFTER) Thread.sleep(5);
                cut.mode = UdpGate.Mode.ALL;
                lab.awaitLine("Path: relay", before, 10_000);
                long atMove = out.count.get();
                Bytes.Digest d = received.get(120, TimeUnit.SECONDS);
                assertEquals(SIZE, d.length());
                assertEquals(sent.get(10, TimeUnit.SECONDS), d.sha256());
                assertTrue(atMove < SIZE, "the move happened mid-transfer: " + atMove);
            }
        }
    }

    private static Bytes.Digest drain(InputStream in) {
        try {
            return Bytes.drain(in);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static void awaitCount(Counted in, long n) throws InterruptedException {
        long end = System.currentTimeMillis() + 60_000;
        while (in.count.get() < n) {
            if (System.currentTimeMillis() > end)
                throw new AssertionError("transfer stalled at " + in.count.get());
            Thread.sleep(5);
        }
    }

    private static final class Counted extends FilterInputStream {
        final AtomicLong count = new AtomicLong();

        Counted(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) count.addAndGet(n);
            return n;
        }
    }

    private static final class CountedOut extends FilterOutputStream {
        final AtomicLong count = new AtomicLong();

        CountedOut(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count.addAndGet(len);
        }
    }
}
