package dev.appshare.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Benchmark helper for scripts/bench: the heap that {@code connect} and {@code share} hold per idle
 * tunnelled TCP connection. It runs the shared service itself (a sink on {@code --sink-port} that
 * accepts every connection, echoes what it reads and holds it open), opens N connections through
 * connect's local port, checks each end to end (one byte written, the same byte read back through
 * the tunnel), keeps them all open and idle, and measures both processes' live heap with {@code
 * jcmd PID GC.class_histogram} (a full GC, then the bytes of every live object), as {@link
 * IdleShares} measures the server: before (after a warm-up batch of 20 opened and closed, so
 * one-time costs land before the baseline) and with the N connections open.
 *
 * <pre>
 *   IdleTunnels --connect HOST:PORT --sink-port PORT --connect-pid PID --share-pid PID
 *               [--conns 1000] [--hold-seconds 3]
 * </pre>
 *
 * Prints {@code key=value} lines; the last is {@code result ...}: {@code opened} (connections whose
 * byte came back), {@code accepted} (connections the sink saw), the heaps, and {@code
 * connect_per_conn} / {@code share_per_conn} in bytes, and the growth of each resident set per
 * connection ({@code *_rss_per_conn}, for information: it includes what the heap does not, such as
 * quiche's native stream state and netty's direct buffers, and the JVM's own heap growth).
 */
public final class IdleTunnels {
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger echoed = new AtomicInteger();

    public static void main(String[] args) throws Exception {
        String connect = null;
        int sinkPort = -1, conns = 1000, holdSeconds = 3;
        long connectPid = -1, sharePid = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--connect" -> connect = args[i + 1];
                case "--sink-port" -> sinkPort = Integer.parseInt(args[i + 1]);
                case "--connect-pid" -> connectPid = Long.parseLong(args[i + 1]);
                case "--share-pid" -> sharePid = Long.parseLong(args[i + 1]);
                case "--conns" -> conns = Integer.parseInt(args[i + 1]);
                case "--hold-seconds" -> holdSeconds = Integer.parseInt(args[i + 1]);
                default -> {
                    System.err.println("IdleTunnels: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (connect == null || sinkPort < 0 || connectPid < 0 || sharePid < 0) {
            System.err.println(
                    "usage: IdleTunnels --connect HOST:PORT --sink-port PORT --connect-pid PID"
                            + " --share-pid PID [--conns N] [--hold-seconds S]");
            System.exit(2);
        }
        int colon = connect.lastIndexOf(':');
        InetSocketAddress target =
                new InetSocketAddress(
                        connect.substring(0, colon),
                        Integer.parseInt(connect.substring(colon + 1)));
        new IdleTunnels().run(target, sinkPort, connectPid, sharePid, conns, holdSeconds);
    }

    private void run(
            InetSocketAddress target,
            int sinkPort,
            long connectPid,
            long sharePid,
            int n,
            int holdSeconds)
            throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", sinkPort), 4096);
        Selector selector = Selector.open();
        Thread sink = new Thread(() -> sink(server, selector), "sink");
        sink.setDaemon(true);
        sink.start();

        // Warm-up: a few connections open, echo and close, so one-time costs land before the
        // baseline.
        closeAll(open(target, 20, 1));
        Thread.sleep(1000);
        accepted.set(0);
        echoed.set(0);
        long c0 = IdleShares.liveHeap(connectPid), s0 = IdleShares.liveHeap(sharePid);
        long cr0 = IdleShares.rss(connectPid), sr0 = IdleShares.rss(sharePid);
        System.out.printf(
                "before connect_heap=%d share_heap=%d connect_rss=%d share_rss=%d%n",
                c0, s0, cr0, sr0);

        long t0 = System.nanoTime();
        List<Socket> open = open(target, n, 2);
        double openSeconds = (System.nanoTime() - t0) / 1e9;
        int ok = open.size();
        System.out.printf(
                Locale.ROOT,
                "opened=%d of %d in %.1f s; the sink accepted %d%n",
                ok,
                n,
                openSeconds,
                accepted.get());
        Thread.sleep(holdSeconds * 1000L);
        long c1 = IdleShares.liveHeap(connectPid), s1 = IdleShares.liveHeap(sharePid);
        long cr1 = IdleShares.rss(connectPid), sr1 = IdleShares.rss(sharePid);
        // still open end to end after the measurement: each one echoes a second byte
        int alive = 0;
        for (Socket s : open) {
            if (echo(s, 3)) alive++;
        }
        int acceptedN = accepted.get();
        System.out.printf("with connect_heap=%d share_heap=%d alive=%d%n", c1, s1, alive);
        closeAll(open);
        System.out.printf(
                Locale.ROOT,
                "result conns=%d opened=%d accepted=%d alive_after=%d open_seconds=%.1f"
                        + " connect_heap_before=%d connect_heap_with=%d share_heap_before=%d"
                        + " share_heap_with=%d connect_per_conn=%.0f share_per_conn=%.0f"
                        + " connect_rss_per_conn=%.0f share_rss_per_conn=%.0f%n",
                n,
                ok,
                acceptedN,
                alive,
                openSeconds,
                c0,
                c1,
                s0,
                s1,
                ok > 0 ? (double) (c1 - c0) / ok : Double.NaN,
                ok > 0 ? (double) (s1 - s0) / ok : Double.NaN,
                ok > 0 ? (double) (cr1 - cr0) / ok : Double.NaN,
                ok > 0 ? (double) (sr1 - sr0) / ok : Double.NaN);
        selector.close();
        server.close();
    }

    /** Opens n connections, each checked by one echoed byte; returns those that echoed. */
    private List<Socket> open(InetSocketAddress target, int n, int value) throws IOException {
        List<Socket> list = new ArrayList<>(n);
        int failed = 0;
        for (int i = 0; i < n; i++) {
            Socket s = new Socket();
            try {
                s.connect(target, 10_000);
                s.setSoTimeout(10_000);
                if (echo(s, value)) {
                    list.add(s);
                    continue;
                }
            } catch (IOException e) {
                if (failed == 0) System.out.println("first failure: " + e);
            }
            failed++;
            s.close();
            if (failed > 20) {
                System.out.println("giving up after " + failed + " failed connections");
                break;
            }
        }
        return list;
    }

    private static boolean echo(Socket s, int value) {
        try {
            s.getOutputStream().write(value);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            return in.read() == value;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeAll(List<Socket> list) {
        for (Socket s : list) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** The shared service: accepts, echoes every byte it reads, holds each connection open. */
    private void sink(ServerSocketChannel server, Selector selector) {
        ByteBuffer buf = ByteBuffer.allocate(256);
        try {
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            while (selector.isOpen()) {
                selector.select(1000);
                if (!selector.isOpen()) break;
                for (SelectionKey k : selector.selectedKeys()) {
                    if (!k.isValid()) continue;
                    if (k.isAcceptable()) {
                        SocketChannel c;
                        while ((c = server.accept()) != null) {
                            c.configureBlocking(false);
                            c.register(selector, SelectionKey.OP_READ);
                            accepted.incrementAndGet();
                        }
                    } else if (k.isReadable()) {
                        SocketChannel c = (SocketChannel) k.channel();
                        buf.clear();
                        int r;
                        try {
                            r = c.read(buf);
                        } catch (IOException e) {
                            r = -1;
                        }
                        if (r < 0) {
                            k.cancel();
                            c.close();
                        } else if (r > 0) {
                            buf.flip();
                            c.write(buf); // a byte or two: the socket buffer takes it
                            echoed.incrementAndGet();
                        }
                    }
                }
                selector.selectedKeys().clear();
            }
        } catch (IOException | java.nio.channels.ClosedSelectorException e) {
            // the run is over
        }
    }
}
