package dev.appshare.peer.trust;

import dev.appshare.peer.Console;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.pake.ShareCode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/** The shared side's services and what the tests check through a tunnel. */
final class Services {
    private Services() {}

    /**
     * A shared TCP service that echoes and counts what reaches it: every accepted connection and
     * every byte. A share's service the attacker must not reach, or the attacker's own share's.
     */
    static final class CountingEcho implements AutoCloseable {
        final ServerSocket socket;
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong bytes = new AtomicLong();
        private final ExecutorService pool = Executors.newCachedThreadPool();

        CountingEcho() throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            pool.execute(
                    () -> {
                        while (!socket.isClosed()) {
                            Socket s;
                            try {
                                s = socket.accept();
                            } catch (IOException e) {
                                return;
                            }
                            accepted.incrementAndGet();
                            pool.execute(() -> echo(s));
                        }
                    });
        }

        private void echo(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                byte[] buf = new byte[16 << 10];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    bytes.addAndGet(n);
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // the test judges what arrived
            }
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
            pool.shutdownNow();
        }
    }

    /**
     * Sends {@code data} through the local port of a connector to an echo service and reads it all
     * back (a writer thread, so neither side's buffers have to hold it all).
     */
    static byte[] roundTrip(InetSocketAddress local, byte[] data) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(local, 5_000);
            s.setSoTimeout(30_000);
            Thread writer =
                    new Thread(
                            () -> {
                                try {
                                    OutputStream o = s.getOutputStream();
                                    o.write(data);
                                    o.flush();
                                } catch (IOException ignored) {
                                    // the read below fails then
                                }
                            });
            writer.start();
            byte[] back = s.getInputStream().readNBytes(data.length);
            writer.join(5_000);
            return back;
        }
    }

    /** {@code n} random bytes. */
    static byte[] random(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    /** A password (two code words) that is not {@code notThis}. */
    static String otherPassword(String notThis) {
        SecureRandom r = new SecureRandom();
        while (true) {
            String p = CodeWords.draw(r);
            if (!p.equals(notThis)) return p;
        }
    }

    /** The code with the same name and other words: a wrong guess. */
    static String wrongCode(String code) {
        ShareCode c = ShareCode.parse(code);
        return new ShareCode(otherPassword(c.password()), c.name()).toString();
    }

    /** A console that keeps its lines, for one peer. */
    static final class Lines implements Console {
        final List<String> lines = new CopyOnWriteArrayList<>();

        @Override
        public void line(String text) {
            lines.add(text);
        }

        boolean has(String text) {
            return lines.stream().anyMatch(l -> l.contains(text));
        }

        /** Waits for a line containing {@code text}. */
        String await(String text, long timeoutMillis) throws InterruptedException {
            long end = System.currentTimeMillis() + timeoutMillis;
            while (System.currentTimeMillis() < end) {
                for (String l : lines) if (l.contains(text)) return l;
                Thread.sleep(20);
            }
            throw new AssertionError(
                    "no line with '" + text + "' within " + timeoutMillis + " ms: " + lines);
        }
    }

    /** Waits until {@code condition} holds; false if it did not within the time. */
    static boolean eventually(long timeoutMillis, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < end) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
