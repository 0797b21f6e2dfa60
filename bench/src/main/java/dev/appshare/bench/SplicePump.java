package dev.appshare.bench;

import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Benchmark helper for scripts/bench: one-way bulk throughput through a TCP splice, measured the
 * same way for every splice so their numbers can be compared. A source thread writes as fast as the
 * socket takes it; a sink thread reads and counts. The first {@code --warmup} seconds are not
 * counted (the splice's JIT warms up there), then bytes received over the next {@code --seconds}
 * give the rate.
 *
 * <pre>
 *   SplicePump direct                                   source -> sink, plain loopback TCP
 *   SplicePump via --sink-port P --connect HOST:PORT    source -> HOST:PORT (e.g. socat) -> 127.0.0.1:P sink
 *   SplicePump relay --relay HOST:PORT --secret-file F  both ends dial an `appshare relay` with one
 *                                                       fresh token ("RELAY token\n" ... "OK\n"), then
 *                                                       source -> relay -> sink
 *   options: --seconds S (default 10) --warmup S (default 1)
 * </pre>
 *
 * Prints one line: {@code bytes=N seconds=T bits_per_second=R total_bytes=M} (M: every byte moved,
 * the warm-up's too).
 */
public final class SplicePump {
    private static final int BUFFER = 128 * 1024;

    private SplicePump() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) usage();
        String mode = args[0];
        double seconds = 10, warmup = 1;
        int sinkPort = 0;
        String connect = null, relay = null, secretFile = null;
        for (int i = 1; i < args.length; i += 2) {
            if (i + 1 >= args.length) usage();
            switch (args[i]) {
                case "--seconds" -> seconds = Double.parseDouble(args[i + 1]);
                case "--warmup" -> warmup = Double.parseDouble(args[i + 1]);
                case "--sink-port" -> sinkPort = Integer.parseInt(args[i + 1]);
                case "--connect" -> connect = args[i + 1];
                case "--relay" -> relay = args[i + 1];
                case "--secret-file" -> secretFile = args[i + 1];
                default -> usage();
            }
        }
        SocketChannel source, sink;
        switch (mode) {
            case "direct", "via" -> {
                try (ServerSocketChannel server = ServerSocketChannel.open()) {
                    server.bind(new InetSocketAddress("127.0.0.1", sinkPort));
                    InetSocketAddress target =
                            mode.equals("direct")
                                    ? (InetSocketAddress) server.getLocalAddress()
                                    : parse(require(connect, "--connect"));
                    source = SocketChannel.open(target);
                    sink = server.accept();
                }
            }
            case "relay" -> {
                String secret = Files.readString(Path.of(require(secretFile, "--secret-file")));
                String token =
                        new RelayToken(RelayToken.secretFromText(secret), Clock.systemUTC())
                                .mint(60_000);
                InetSocketAddress addr = parse(require(relay, "--relay"));
                source = SocketChannel.open(addr);
                sink = SocketChannel.open(addr);
                hello(source, token);
                hello(sink, token);
                expectOk(source);
                expectOk(sink);
            }
            default -> {
                usage();
                return;
            }
        }
        source.socket().setTcpNoDelay(true);
        sink.socket().setTcpNoDelay(true);
        long[] result = run(source, sink, (long) (warmup * 1e9), (long) (seconds * 1e9));
        double secs = result[1] / 1e9;
        System.out.printf(
                Locale.ROOT,
                "bytes=%d seconds=%.3f bits_per_second=%.0f total_bytes=%d%n",
                result[0],
                secs,
                result[0] * 8 / secs,
                result[2]);
    }

    /**
     * Pumps source -> sink; returns {bytes counted, nanoseconds counted, all bytes moved (the
     * warm-up's too: scripts/bench divides a process's CPU time over the whole run by it)}.
     */
    private static long[] run(
            SocketChannel source, SocketChannel sink, long warmupNanos, long measureNanos)
            throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long start = System.nanoTime();
        long stopWriting = start + warmupNanos + measureNanos;
        Thread writer =
                new Thread(
                        () -> {
                            ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
                            for (int i = 0; i < BUFFER; i++) buf.put(i, (byte) i);
                            try {
                                while (System.nanoTime() < stopWriting) {
                                    buf.clear();
                                    while (buf.hasRemaining()) source.write(buf);
                                }
                                source.shutdownOutput();
                            } catch (IOException e) {
                                failure.compareAndSet(null, e);
                            }
                        },
                        "pump-source");
        writer.start();
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
        long total = 0, markBytes = -1, markTime = 0, lastTime = start;
        long warmEnd = start + warmupNanos;
        while (true) {
            buf.clear();
            int n = sink.read(buf);
            long now = System.nanoTime();
            if (n < 0) break;
            if (markBytes < 0 && now >= warmEnd) {
                markBytes = total;
                markTime = now;
            }
            total += n;
            lastTime = now;
        }
        writer.join();
        source.close();
        sink.close();
        if (failure.get() != null) throw new IOException("source failed", failure.get());
        if (markBytes < 0)
            throw new IOException(
                    "the splice delivered nothing after the warm-up (" + total + " bytes in all)");
        return new long[] {total - markBytes, lastTime - markTime, total};
    }

    private static void hello(SocketChannel ch, String token) throws IOException {
        ByteBuffer line =
                ByteBuffer.wrap(
                        (RelayProtocol.HELLO + token + "\n").getBytes(StandardCharsets.US_ASCII));
        while (line.hasRemaining()) ch.write(line);
    }

    /**
     * Reads the relay's answer one byte at a time, so no spliced byte is taken with it. (No read
     * timeout here: scripts/bench runs this under `timeout`.)
     */
    private static void expectOk(SocketChannel ch) throws IOException {
        StringBuilder sb = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (sb.length() < 256) {
            one.clear();
            if (ch.read(one) < 0)
                throw new IOException("the relay closed before answering (" + sb + ")");
            char c = (char) one.get(0);
            if (c == '\n') break;
            sb.append(c);
        }
        if (!sb.toString().equals(RelayProtocol.OK))
            throw new IOException("the relay answered: " + sb);
    }

    private static InetSocketAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(
                hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static String require(String v, String option) {
        if (v == null) {
            System.err.println("SplicePump: " + option + " is required");
            System.exit(2);
        }
        return v;
    }

    private static void usage() {
        System.err.println(
                "usage: SplicePump direct|via|relay [--sink-port P] [--connect HOST:PORT] "
                        + "[--relay HOST:PORT --secret-file F] [--seconds S] [--warmup S]");
        System.exit(2);
    }
}
