package dev.appshare.bench;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.path.UdpGate;
import dev.appshare.peer.share.Sharer;
import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToDoubleFunction;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Benchmark helper for scripts/bench: how long a running transfer stalls when the tunnel changes
 * path, each way, with {@code --transport auto}.
 *
 * <p>One JVM holds the whole deployment on 127.0.0.1: a rendezvous (with its STUN responder), a
 * relay, a sharer in front of a source that writes as fast as it can, and per repetition a fresh
 * connector whose tunnel socket has a {@link UdpGate} in front of it (ICE host candidates: loopback
 * only). A client reads the source through the connector's local port (a download, share to
 * connect); a sampler thread notes the bytes received every {@code --sample-ms} ms. A "gap" is the
 * longest time between two samples that saw bytes arrive.
 *
 * <ol>
 *   <li>relay -> direct: the gate starts dropping every datagram but STUN, so ICE validates a pair
 *       (the gate sees the path layer's first probe) while the tunnel runs on the relay. After
 *       {@code --steady-ms} of transfer the gate opens; reported: the longest gap from that moment
 *       to {@code --after-ms} after {@code Path: direct} was announced, and how long the
 *       announcement took.
 *   <li>direct -> relay: after {@code --steady-ms} more on the direct path the gate drops
 *       everything; reported: the longest gap from the cut to {@code --after-ms} after {@code Path:
 *       relay}, and how long until {@code Path: relay} was announced.
 * </ol>
 *
 * The longest gap of the {@code --steady-ms} of undisturbed transfer before each switch is reported
 * beside it (what the same sampling shows without a switch), with the rate over that window. The
 * first {@code --warmup-reps} repetitions warm the JIT up and are not counted. Every wait is
 * bounded; no repetition starts once {@code --deadline-seconds} are nearly used up.
 *
 * <pre>
 *   SwitchStall [--reps 5] [--warmup-reps 1] [--steady-ms 1500] [--after-ms 1500] [--sample-ms 5]
 *               [--deadline-seconds 120]
 * </pre>
 *
 * Prints a line per repetition (each gap with when it began, relative to opening or cutting) and a
 * last line {@code result key=value ...} (times in ms).
 */
public final class SwitchStall {
    private static final long MS = 1_000_000L;
    private static final long WAIT_LINE_MS = 10_000;
    private static final int BLOCK = 64 * 1024;

    static {
        // As the command line does (dev.appshare.cli.Logging): slf4j-simple, one INFO line per
        // event,
        // chatty libraries at WARN, java.util.logging (ice4j) routed into slf4j.
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", "info");
        setDefault("org.slf4j.simpleLogger.log.io.netty", "warn");
        setDefault("org.slf4j.simpleLogger.log.org.ice4j", "warn");
        setDefault("org.slf4j.simpleLogger.log.org.jitsi", "warn");
        setDefault("org.slf4j.simpleLogger.showDateTime", "true");
        setDefault("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        setDefault("org.slf4j.simpleLogger.showShortLogName", "true");
        setDefault("org.slf4j.simpleLogger.levelInBrackets", "true");
        LogManager.getLogManager().reset();
        SLF4JBridgeHandler.install();
        Logger.getLogger("").setLevel(Level.WARNING);
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }

    private int reps = 5, warmupReps = 1;
    private long steadyMs = 1500, afterMs = 1500, sampleMs = 5;
    private long deadline;

    private final EventLoopGroup serverGroup = EventLoops.newGroup(2);
    private final EventLoopGroup shareGroup = EventLoops.newGroup(2);
    private final EventLoopGroup connectGroup = EventLoops.newGroup(2);
    private AppshareServer server;
    private ServerSocket source;
    private Sharer sharer;

    private SwitchStall() {}

    public static void main(String[] args) throws Exception {
        SwitchStall s = new SwitchStall();
        long deadlineSeconds = 120;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) usage();
            long v = Long.parseLong(args[i + 1]);
            switch (args[i]) {
                case "--reps" -> s.reps = (int) v;
                case "--warmup-reps" -> s.warmupReps = (int) v;
                case "--steady-ms" -> s.steadyMs = v;
                case "--after-ms" -> s.afterMs = v;
                case "--sample-ms" -> s.sampleMs = v;
                case "--deadline-seconds" -> deadlineSeconds = v;
                default -> usage();
            }
        }
        long started = System.nanoTime();
        s.deadline = started + deadlineSeconds * 1_000 * MS;
        int code = 0;
        try {
            s.startDeployment();
            code = s.runAll();
        } catch (Exception e) {
            System.out.println("failed: " + e);
            e.printStackTrace();
            code = 1;
        } finally {
            s.stopDeployment();
            System.out.printf(Locale.ROOT, "elapsed_s=%.1f%n", (System.nanoTime() - started) / 1e9);
            System.out.flush();
        }
        System.exit(code); // ice4j and netty leave non-daemon threads behind
    }

    private static void usage() {
        System.err.println(
                "usage: SwitchStall [--reps N] [--warmup-reps N] [--steady-ms MS] [--after-ms MS] "
                        + "[--sample-ms MS] [--deadline-seconds S]");
        System.exit(2);
    }

    // ---- the deployment ------------------------------------------------------------------------

    private void startDeployment() throws Exception {
        RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        server =
                AppshareServer.start(
                        AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", 0)),
                        tokens,
                        serverGroup);
        RendezvousServer rendezvous = server.rendezvous();
        source = new ServerSocket();
        source.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread acceptor = new Thread(this::serveSource, "source-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        sharer =
                new Sharer(
                        new Sharer.Config(
                                rendezvous.localAddress(),
                                new InetSocketAddress("127.0.0.1", source.getLocalPort()),
                                "switchstall-" + ProcessHandle.current().pid(),
                                paths(null)),
                        shareGroup,
                        text -> System.err.println("share: " + text));
        sharer.start().get(20, TimeUnit.SECONDS);
        System.out.printf(
                "deployment: rendezvous %s, relay %s, source port %d, share %s%n",
                rendezvous.localAddress(),
                server.relay().localAddress(),
                source.getLocalPort(),
                sharer.name());
    }

    private static PathOptions paths(UdpGate gate) {
        return new PathOptions(
                Transport.AUTO,
                HostAddresses.loopback(),
                PathOptions.ICE_TIMEOUT_MILLIS,
                gate == null ? null : () -> gate);
    }

    /** The shared target: every connection gets an endless stream of 64 KiB blocks. */
    private void serveSource() {
        byte[] block = new byte[BLOCK];
        new Random(7).nextBytes(block);
        while (!source.isClosed()) {
            try {
                Socket s = source.accept();
                Thread w =
                        new Thread(
                                () -> {
                                    try (s;
                                            OutputStream out = s.getOutputStream()) {
                                        while (true) out.write(block);
                                    } catch (IOException ended) {
                                        // the client went away
                                    }
                                },
                                "source-write");
                w.setDaemon(true);
                w.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void stopDeployment() {
        try {
            if (sharer != null) sharer.close();
        } catch (Exception ignored) {
            // going down anyway
        }
        try {
            if (source != null) source.close();
        } catch (IOException ignored) {
            // going down anyway
        }
        if (server != null) server.close();
        for (EventLoopGroup g : List.of(connectGroup, shareGroup, serverGroup)) {
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        }
    }

    // ---- repetitions ---------------------------------------------------------------------------

    /** One repetition's numbers, in ms; gaps are -1 when that switch could not be measured. */
    private static final class Rep {
        final Switch up = new Switch(); // relay -> direct
        final Switch down = new Switch(); // direct -> relay
        double samplerMax;
        String failure;
    }

    /**
     * One switch: the longest gap around it, steady transfer's just before, and when it was
     * announced.
     */
    private static final class Switch {
        double gap = -1, steady = -1, announce = -1, mbit = -1, start;
        boolean open; // the transfer had not resumed when the window ended
        long end;
    }

    private int runAll() {
        List<Rep> counted = new ArrayList<>();
        int failed = 0, ran = 0;
        for (int i = 0; i < warmupReps + reps; i++) {
            boolean warm = i < warmupReps;
            if (remainingMs() < 20_000) {
                System.out.printf(
                        "stopping: less than 20 s left of the deadline after %d repetitions%n", i);
                break;
            }
            Rep r = runOne();
            String label = warm ? "warm-up " + (i + 1) : "rep " + (i + 1 - warmupReps);
            System.out.println(label + ": " + describe(r));
            System.out.flush();
            if (warm) continue;
            ran++;
            counted.add(r);
            if (r.failure != null) failed++;
        }
        double[] up = collect(counted, r -> r.up.gap), down = collect(counted, r -> r.down.gap);
        System.out.printf(
                Locale.ROOT,
                "result reps=%d failed=%d up_median_ms=%.0f up_max_ms=%.0f up_steady_ms=%.0f"
                        + " up_announce_ms=%.0f down_median_ms=%.0f down_max_ms=%.0f"
                        + " down_steady_ms=%.0f relay_announce_median_ms=%.0f"
                        + " relay_announce_max_ms=%.0f relay_mbit=%.0f direct_mbit=%.0f"
                        + " sampler_max_ms=%.0f up_unresumed=%d down_unresumed=%d%n",
                ran,
                failed,
                median(up),
                max(up),
                median(collect(counted, r -> r.up.steady)),
                median(collect(counted, r -> r.up.announce)),
                median(down),
                max(down),
                median(collect(counted, r -> r.down.steady)),
                median(collect(counted, r -> r.down.announce)),
                max(collect(counted, r -> r.down.announce)),
                median(collect(counted, r -> r.up.mbit)),
                median(collect(counted, r -> r.down.mbit)),
                max(collect(counted, r -> r.samplerMax)),
                counted.stream().filter(r -> r.up.open).count(),
                counted.stream().filter(r -> r.down.open).count());
        return failed == 0 && ran == reps ? 0 : 1;
    }

    private static String describe(Rep r) {
        StringBuilder sb = new StringBuilder();
        if (r.up.gap >= 0) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "relay->direct gap %s%.0f ms from %+.0f ms (steady relay: gap %.0f ms,"
                                    + " %.0f Mbit/s; Path: direct %.0f ms after opening)",
                            r.up.open ? ">=" : "",
                            r.up.gap,
                            r.up.start,
                            r.up.steady,
                            r.up.mbit,
                            r.up.announce));
        }
        if (r.down.gap >= 0) {
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "; direct->relay gap %s%.0f ms from %+.0f ms (steady direct: gap %.0f"
                                    + " ms, %.0f Mbit/s; Path: relay %.0f ms after the cut)",
                            r.down.open ? ">=" : "",
                            r.down.gap,
                            r.down.start,
                            r.down.steady,
                            r.down.mbit,
                            r.down.announce));
        }
        sb.append(String.format(Locale.ROOT, "; sampler max interval %.0f ms", r.samplerMax));
        if (r.failure != null) sb.append("; FAILED: ").append(r.failure);
        return sb.toString();
    }

    private Rep runOne() {
        Rep r = new Rep();
        UdpGate gate = new UdpGate(UdpGate.Mode.ALL_BUT_STUN);
        Lines lines = new Lines();
        Connector c =
                new Connector(
                        new Connector.Config(
                                server.rendezvous().localAddress(),
                                sharer.name(),
                                new InetSocketAddress("127.0.0.1", 0),
                                paths(gate)),
                        connectGroup,
                        lines);
        Receiver rx = null;
        try {
            c.start().get(bounded(20_000), TimeUnit.MILLISECONDS);
            Line first = lines.await("Path: ", 0, bounded(WAIT_LINE_MS));
            if (first == null)
                throw new Failure(
                        "no Path: line within " + WAIT_LINE_MS + " ms of the tunnel coming up");
            if (!first.text.startsWith("Path: relay"))
                throw new Failure("the first path was not the relay: " + first.text);
            rx = new Receiver(c.localAddress(), sampleMs);
            long t0 = System.nanoTime();
            // ICE validates a pair through the gate (STUN passes); the path layer's probes do not.
            while (gate.firstOutDropNanos == 0) {
                if (System.nanoTime() - t0 > bounded(15_000) * MS)
                    throw new Failure("ICE validated no pair within 15 s");
                Thread.sleep(10);
            }
            sleepUntil(Math.max(t0 + (500 + steadyMs) * MS, gate.firstOutDropNanos + 200 * MS));
            if (rx.bytes() == 0) throw new Failure("no data arrived over the relay");

            // (a) relay -> direct, then (b) direct -> relay
            measure(
                    r.up,
                    r,
                    lines,
                    rx,
                    gate,
                    UdpGate.Mode.OPEN,
                    "Path: direct",
                    "opening the gate");
            sleepUntil(r.up.end + steadyMs * MS);
            measure(
                    r.down,
                    r,
                    lines,
                    rx,
                    gate,
                    UdpGate.Mode.ALL,
                    "Path: relay",
                    "cutting the direct path");
        } catch (Failure f) {
            r.failure = f.getMessage();
        } catch (Exception e) {
            r.failure = e.toString();
        } finally {
            if (rx != null) rx.close();
            try {
                c.close();
            } catch (Exception ignored) {
                // the tunnel is gone already
            }
        }
        if (r.failure != null)
            System.err.println("rep failed: " + r.failure + "; console: " + lines.texts());
        return r;
    }

    /**
     * After a switch announced at {@code announced}: waits until bytes have arrived after it (at
     * most 10 s), then {@code --after-ms} more; returns the end of the window to look for gaps in.
     */
    /**
     * Sets the gate, waits for the path line it should cause, and measures the receive gap around
     * it.
     */
    private void measure(
            Switch sw,
            Rep r,
            Lines lines,
            Receiver rx,
            UdpGate gate,
            UdpGate.Mode to,
            String expect,
            String action)
            throws Exception {
        long at = System.nanoTime();
        int mark = lines.size();
        gate.mode = to;
        Line line = lines.await(expect, mark, bounded(WAIT_LINE_MS));
        if (line == null)
            throw new Failure("no " + expect + " within " + WAIT_LINE_MS + " ms of " + action);
        sw.announce = (line.nanos - at) / 1e6;
        sw.end = settle(rx, at, line.nanos);
        Gap gap = rx.maxGap(at, sw.end);
        Gap steady = rx.maxGap(at - steadyMs * MS, at);
        sw.gap = gap.ms();
        sw.start = gap.startMs(at);
        sw.open = gap.open;
        sw.steady = steady.ms();
        sw.mbit = rx.mbit(at - steadyMs * MS, at);
        r.samplerMax = Math.max(r.samplerMax, Math.max(gap.samplerMaxMs, steady.samplerMaxMs));
    }

    private long settle(Receiver rx, long action, long announced) throws InterruptedException {
        long limit = System.nanoTime() + bounded(10_000) * MS;
        long at = rx.bytes();
        while (rx.bytes() == at && System.nanoTime() < limit) Thread.sleep(5);
        long end = Math.max(announced, System.nanoTime()) + afterMs * MS;
        sleepUntil(end);
        return end;
    }

    private long remainingMs() {
        return (deadline - System.nanoTime()) / MS;
    }

    /** A wait of {@code ms}, cut short by the deadline (and at least 1 ms). */
    private long bounded(long ms) {
        return Math.max(1, Math.min(ms, remainingMs()));
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) Thread.sleep(Math.max(1, left / MS));
    }

    private static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    // ---- console lines -------------------------------------------------------------------------

    private record Line(long nanos, String text) {}

    /** The connector's stdout lines, with the time each was printed. */
    private static final class Lines implements Console {
        private final List<Line> lines = new CopyOnWriteArrayList<>();

        @Override
        public void line(String text) {
            lines.add(new Line(System.nanoTime(), text));
            System.err.println("connect: " + text);
        }

        int size() {
            return lines.size();
        }

        List<String> texts() {
            return lines.stream().map(Line::text).toList();
        }

        /**
         * The first line from index {@code from} on that starts with {@code prefix}, or null after
         * the wait.
         */
        Line await(String prefix, int from, long waitMs) throws InterruptedException {
            long end = System.nanoTime() + waitMs * MS;
            do {
                for (int i = from; i < lines.size(); i++) {
                    if (lines.get(i).text.startsWith(prefix)) return lines.get(i);
                }
                Thread.sleep(2);
            } while (System.nanoTime() < end);
            return null;
        }
    }

    // ---- the receiving end ---------------------------------------------------------------------

    /** A longest gap, in nanoseconds; {@code open}: still going on when the window ended. */
    private record Gap(long nanos, long start, boolean open, double samplerMaxMs) {
        double ms() {
            return nanos / 1e6;
        }

        /** When the gap began, in ms after {@code t} (negative: before). */
        double startMs(long t) {
            return (start - t) / 1e6;
        }
    }

    /** Reads the transfer through the connector and samples the byte count every few ms. */
    private static final class Receiver {
        private final Socket socket;
        private final AtomicLong count = new AtomicLong();
        private final Thread reader, sampler;
        private long[] times = new long[1 << 14], counts = new long[1 << 14];
        private int n;
        private volatile boolean closed;

        Receiver(InetSocketAddress local, long sampleMs) throws IOException {
            socket = new Socket();
            socket.connect(local, 5_000);
            reader =
                    new Thread(
                            () -> {
                                byte[] buf = new byte[BLOCK];
                                try (InputStream in = socket.getInputStream()) {
                                    int k;
                                    while ((k = in.read(buf)) >= 0) count.addAndGet(k);
                                } catch (IOException ended) {
                                    // closed at the end of the repetition
                                }
                            },
                            "stall-reader");
            sampler =
                    new Thread(
                            () -> {
                                long period = sampleMs * MS;
                                long next = System.nanoTime();
                                while (!closed) {
                                    record(System.nanoTime(), count.get());
                                    next += period;
                                    long left = next - System.nanoTime();
                                    if (left > 0) LockSupport.parkNanos(left);
                                    else next = System.nanoTime(); // late: do not try to catch up
                                    // with a burst of samples
                                }
                            },
                            "stall-sampler");
            reader.setDaemon(true);
            sampler.setDaemon(true);
            sampler.setPriority(Thread.MAX_PRIORITY);
            reader.start();
            sampler.start();
        }

        long bytes() {
            return count.get();
        }

        private synchronized void record(long t, long c) {
            if (n == times.length) {
                times = Arrays.copyOf(times, n * 2);
                counts = Arrays.copyOf(counts, n * 2);
            }
            times[n] = t;
            counts[n] = c;
            n++;
        }

        /**
         * The longest time between two samples that saw bytes arrive, among those gaps that end
         * after {@code from} and start before {@code to} (a gap already going on at {@code from}
         * counts whole); a gap still going on at {@code to} counts up to the last sample.
         */
        synchronized Gap maxGap(long from, long to) {
            long lastProgress = -1, max = 0, samplerMax = 0, start = 0;
            boolean open = false;
            long lastT = -1;
            for (int i = 1; i < n && times[i] <= to; i++) {
                if (times[i] > from) samplerMax = Math.max(samplerMax, times[i] - times[i - 1]);
                if (counts[i] > counts[i - 1]) {
                    if (times[i] > from && lastProgress >= 0 && times[i] - lastProgress > max) {
                        max = times[i] - lastProgress;
                        start = lastProgress;
                    }
                    lastProgress = times[i];
                }
                lastT = times[i];
            }
            if (lastProgress >= 0 && lastT - lastProgress > max) {
                max = lastT - lastProgress;
                start = lastProgress;
                open = true;
            }
            return new Gap(max, start, open, samplerMax / 1e6);
        }

        /** Mbit/s received between two times (the samples nearest them). */
        synchronized double mbit(long from, long to) {
            int a = -1, b = -1;
            for (int i = 0; i < n; i++) {
                if (a < 0 && times[i] >= from) a = i;
                if (times[i] <= to) b = i;
            }
            if (a < 0 || b <= a) return -1;
            return (counts[b] - counts[a]) * 8 / ((times[b] - times[a]) / 1e9) / 1e6;
        }

        void close() {
            closed = true;
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    // ---- statistics ----------------------------------------------------------------------------

    private static double[] collect(List<Rep> reps, ToDoubleFunction<Rep> f) {
        return reps.stream().mapToDouble(f).filter(v -> v >= 0).toArray();
    }

    private static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double max(double[] v) {
        return v.length == 0 ? Double.NaN : Arrays.stream(v).max().getAsDouble();
    }
}
