package dev.appshare.bench;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.PakeExchange;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark helper for scripts/bench: connect to first byte (cold starts of {@code appshare
 * connect}, an HTTP GET sent as soon as the port is printed, the time to the first response byte),
 * for a chosen {@code --transport}, and with each kind of path timed apart: when {@code Path:
 * relay} and when {@code Path: direct} first appeared on connect's stdout. With {@code --transport
 * auto} the tunnel starts on the relay and moves to the direct path once ICE has validated a pair
 * and a probe answered; the process is then kept until {@code Path: direct} appears (at most {@code
 * --direct-wait-ms} after the first byte), so both the first byte and the time until direct are
 * known, and whether the first byte came before the direct path (it should not wait for ICE).
 *
 * <p>The PAKE's part of it: each connect runs with its Connector logging at DEBUG, whose line
 * {@code the share proved the code in N ms (M ms of it computing here) after ACCEPTED} gives the
 * time from the rendezvous's ACCEPTED to the share's key confirmation checking on the connector (a
 * cold process every run; the share is cold for its first connector only), and how much of it the
 * connector spent computing. With {@code --pake-runs N}, after the connects, N PAKE pairs (both
 * sides, {@link PakeExchange}) also run in this process, one after the other in one thread: the
 * first on a cold JVM, the median of the last quarter warm.
 *
 * <pre>
 *   ConnectTimes --launcher scripts/appshare --server HOST:PORT --code CODE [--transport auto|direct|relay]
 *                [--runs 5] [--jvm-runs 5] [--direct-wait-ms 10000] [--pake-runs 0] [--log FILE]
 * </pre>
 *
 * {@code CODE} is the whole code the share printed ({@code Name: CODE}). {@code --jvm-runs} wall
 * times of {@code LAUNCHER --version} come first (0: none). Prints one line per run and a last line
 * {@code median jvm_ms=.. listen_ms=.. path_ms=.. relay_ms=.. direct_ms=.. first_byte_ms=..
 * pake_ms=.. pake_compute_ms=.. pake_runs=N ok=N failed=N direct_runs=N byte_before_direct=N}
 * (path_ms: the first Path: line of any kind; a median over the runs that saw it, NaN when none
 * did; pake_runs: the runs whose connect logged the PAKE line), then with {@code --pake-runs} a
 * line {@code pake_in_process cold_ms=.. warm_ms=.. runs=N}. Each connect also runs with {@code
 * -Dappshare.timeline=true} (dev.appshare.peer.Timeline): its {@code timeline N ms: EVENT} lines on
 * stderr (ms since that process started) are printed per run ({@code timeline run N: EVENT ms |
 * ...}) and as a median per event over the runs, in time order ({@code timeline median: ...}). A
 * run with no response byte within {@value #FIRST_BYTE_TIMEOUT_MILLIS} ms counts as failed and is
 * left out of the medians.
 */
public final class ConnectTimes {
    static final int FIRST_BYTE_TIMEOUT_MILLIS = 10_000;

    private ConnectTimes() {}

    public static void main(String[] args) throws Exception {
        String launcher = null, server = null, name = null, log = null, transport = null;
        int runs = 5, jvmRuns = -1, pakeRuns = 0;
        long directWait = 10_000;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--launcher" -> launcher = args[i + 1];
                case "--server" -> server = args[i + 1];
                case "--code" -> name = args[i + 1];
                case "--pake-runs" -> pakeRuns = Integer.parseInt(args[i + 1]);
                case "--transport" -> transport = args[i + 1];
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--jvm-runs" -> jvmRuns = Integer.parseInt(args[i + 1]);
                case "--direct-wait-ms" -> directWait = Long.parseLong(args[i + 1]);
                case "--log" -> log = args[i + 1];
                default -> {
                    System.err.println("ConnectTimes: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (launcher == null || server == null || name == null || args.length % 2 != 0) {
            System.err.println(
                    "usage: ConnectTimes --launcher L --server HOST:PORT --code CODE [--transport"
                            + " T] [--runs N] [--jvm-runs N] [--direct-wait-ms MS] [--pake-runs N]"
                            + " [--log FILE]");
            System.exit(2);
        }
        if (jvmRuns < 0) jvmRuns = runs;
        File logFile = new File(log != null ? log : "/dev/null");
        boolean mayGoDirect = transport == null || !transport.equals("relay");

        double[] jvm = new double[jvmRuns];
        for (int i = 0; i < jvmRuns; i++) {
            long t0 = System.nanoTime();
            Process p =
                    new ProcessBuilder(launcher, "--version")
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .redirectError(ProcessBuilder.Redirect.appendTo(logFile))
                            .start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("appshare --version did not exit within 30 s");
            }
            jvm[i] = ms(System.nanoTime() - t0);
            System.out.printf(Locale.ROOT, "version run %d: %.0f ms%n", i + 1, jvm[i]);
        }

        List<Double> listen = new ArrayList<>(),
                path = new ArrayList<>(),
                relay = new ArrayList<>(),
                direct = new ArrayList<>(),
                first = new ArrayList<>(),
                pake = new ArrayList<>(),
                pakeCompute = new ArrayList<>();
        Map<String, List<Double>> timelines = new LinkedHashMap<>();
        int failed = 0, byteBeforeDirect = 0;
        for (int i = 0; i < runs; i++) {
            try {
                Times r =
                        connectOnce(
                                launcher,
                                server,
                                name,
                                transport,
                                mayGoDirect,
                                directWait,
                                logFile);
                listen.add(r.listen);
                first.add(r.firstByte);
                double firstPath =
                        Math.min(
                                r.relay < 0 ? Double.MAX_VALUE : r.relay,
                                r.direct < 0 ? Double.MAX_VALUE : r.direct);
                if (firstPath < Double.MAX_VALUE) path.add(firstPath);
                if (r.relay >= 0) relay.add(r.relay);
                if (r.direct >= 0) direct.add(r.direct);
                if (r.direct < 0 || r.firstByte < r.direct) byteBeforeDirect++;
                r.timeline.forEach(
                        (event, ms) ->
                                timelines.computeIfAbsent(event, e -> new ArrayList<>()).add(ms));
                if (r.pake >= 0) {
                    pake.add(r.pake);
                    pakeCompute.add(r.pakeCompute);
                }
                System.out.printf(
                        Locale.ROOT,
                        "connect run %d: listening %.0f ms, Path: relay %s, Path: direct %s, first"
                                + " byte %.0f ms, PAKE %s%n",
                        i + 1,
                        r.listen,
                        shown(r.relay),
                        shown(r.direct),
                        r.firstByte,
                        r.pake < 0
                                ? "not logged"
                                : String.format(
                                        Locale.ROOT,
                                        "%.1f ms (%.1f ms computing on the connector)",
                                        r.pake,
                                        r.pakeCompute));
                if (!r.timeline.isEmpty())
                    System.out.printf("timeline run %d: %s%n", i + 1, timelineText(r.timeline));
            } catch (IOException e) {
                failed++;
                System.out.printf("connect run %d: failed: %s%n", i + 1, e.getMessage());
            }
        }
        System.out.printf(
                Locale.ROOT,
                "median jvm_ms=%.0f listen_ms=%.0f path_ms=%.0f relay_ms=%.0f direct_ms=%.0f"
                        + " first_byte_ms=%.0f pake_ms=%.1f pake_compute_ms=%.1f pake_runs=%d ok=%d"
                        + " failed=%d direct_runs=%d byte_before_direct=%d%n",
                median(jvm),
                median(listen),
                median(path),
                median(relay),
                median(direct),
                median(first),
                median(pake),
                median(pakeCompute),
                pake.size(),
                listen.size(),
                failed,
                direct.size(),
                byteBeforeDirect);
        if (!timelines.isEmpty()) {
            Map<String, Double> medians = new LinkedHashMap<>();
            timelines.entrySet().stream()
                    .sorted(Comparator.comparingDouble(e -> median(e.getValue())))
                    .forEach(e -> medians.put(e.getKey(), median(e.getValue())));
            System.out.printf("timeline median: %s%n", timelineText(medians));
        }
        if (pakeRuns > 0) pakeInProcess(pakeRuns);
    }

    /** "event 123 | event 456": ms since the connect process started. */
    private static String timelineText(Map<String, Double> timeline) {
        StringBuilder b = new StringBuilder();
        timeline.forEach(
                (event, ms) ->
                        b.append(b.length() == 0 ? "" : " | ")
                                .append(event)
                                .append(String.format(Locale.ROOT, " %.0f", ms)));
        return b.toString();
    }

    /**
     * PAKE pairs in this process, both sides in this thread, as the exchange goes: both step 1s,
     * both step 2s, both step 3s, both confirmations. The first runs on a cold JVM (BouncyCastle's
     * classes not loaded yet); the last quarter's median is the warm cost of one whole exchange's
     * computation (the two sides', which on a connect run on two machines).
     */
    private static void pakeInProcess(int runs) throws PakeExchange.FailedException {
        String session = "00000000000000a1", password = "granite-linnet";
        String fpC = "c".repeat(64), fpS = "5".repeat(64);
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            PakeExchange c = new PakeExchange(PakeExchange.Role.CONNECTOR, session, fpC, password);
            PakeExchange s = new PakeExchange(PakeExchange.Role.SHARE, session, fpS, password);
            byte[] c1 = c.start(), s1 = s.start();
            PakeExchange.Next c2 = c.receive(1, s1), s2 = s.receive(1, c1);
            PakeExchange.Next c3 = c.receive(2, s2.reply()), s3 = s.receive(2, c2.reply());
            PakeExchange.Next cf = c.receive(3, s3.reply()), sf = s.receive(3, c3.reply());
            ms[i] = ms(System.nanoTime() - t0);
            if (!cf.confirmed() || !sf.confirmed() || !cf.peerFingerprint().equals(fpS))
                throw new IllegalStateException("an in-process PAKE did not confirm");
        }
        int warm = Math.max(1, runs / 4);
        System.out.printf(
                Locale.ROOT,
                "pake_in_process cold_ms=%.1f warm_ms=%.2f runs=%d%n",
                ms[0],
                median(Arrays.copyOfRange(ms, runs - warm, runs)),
                runs);
    }

    /** A line of the connect process's timeline (dev.appshare.peer.Timeline). */
    private static final Pattern TIMELINE_LINE = Pattern.compile("timeline (\\d+) ms: (.+)");

    /** The connector's DEBUG line with the PAKE's times (see Connector#onPake). */
    private static final Pattern PAKE_LINE =
            Pattern.compile(
                    "proved the code in ([0-9.]+) ms \\(([0-9.]+) ms of it computing here\\) after"
                            + " ACCEPTED");

    /**
     * What a connect process gets added to the launcher's JVM options (which stay as they are): its
     * Connector logs the PAKE line, and it prints its timeline ({@code
     * dev.appshare.peer.Timeline}).
     */
    private static String extraJavaOpts() {
        String base = System.getenv("APPSHARE_JAVA_EXTRA_OPTS");
        return (base == null ? "" : base)
                + " -Dappshare.timeline=true"
                + " -Dorg.slf4j.simpleLogger.log."
                + Connector.class.getName()
                + "=debug";
    }

    private static String shown(double ms) {
        return ms < 0 ? "never" : String.format(Locale.ROOT, "%.0f ms", ms);
    }

    /**
     * ms from the start of the process; -1 for a line that never came. pake, pakeCompute: from the
     * connector's log (ms), -1 when it logged none.
     */
    private record Times(
            double listen,
            double relay,
            double direct,
            double firstByte,
            double pake,
            double pakeCompute,
            Map<String, Double> timeline) {}

    /** One cold connect. */
    private static Times connectOnce(
            String launcher,
            String server,
            String name,
            String transport,
            boolean mayGoDirect,
            long directWait,
            File log)
            throws Exception {
        List<String> cmd =
                new ArrayList<>(
                        List.of(launcher, "connect", name, "--local", "0", "--server", server));
        if (transport != null) cmd.addAll(List.of("--transport", transport));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("APPSHARE_JAVA_EXTRA_OPTS", extraJavaOpts());
        long t0 = System.nanoTime();
        Process p = pb.start();
        double[] pake = {-1, -1};
        Map<String, Double> timeline = Collections.synchronizedMap(new LinkedHashMap<>());
        Thread errors = // stderr to the log, and the PAKE line read on the way
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                            new BufferedReader(
                                                    new InputStreamReader(
                                                            p.getErrorStream(),
                                                            StandardCharsets.UTF_8));
                                    java.io.Writer w =
                                            new java.io.FileWriter(
                                                    log, StandardCharsets.UTF_8, true)) {
                                String line;
                                while ((line = r.readLine()) != null) {
                                    w.write(line + "\n");
                                    Matcher t = TIMELINE_LINE.matcher(line);
                                    if (t.matches())
                                        timeline.put(t.group(2), Double.parseDouble(t.group(1)));
                                    Matcher m = PAKE_LINE.matcher(line);
                                    if (m.find()) {
                                        pake[1] = Double.parseDouble(m.group(2));
                                        pake[0] = Double.parseDouble(m.group(1));
                                    }
                                }
                            } catch (IOException ignored) {
                                // the process went away
                            }
                        },
                        "connect-stderr");
        errors.setDaemon(true);
        errors.start();
        LinkedBlockingQueue<Object[]> lines = new LinkedBlockingQueue<>();
        Thread reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    p.getInputStream(), StandardCharsets.UTF_8))) {
                                String line;
                                while ((line = r.readLine()) != null)
                                    lines.add(new Object[] {System.nanoTime(), line});
                            } catch (IOException ignored) {
                                // the process went away
                            }
                        },
                        "connect-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            double[] seen = {-1, -1, -1}; // listening, relay, direct
            int port = -1;
            List<String> texts = new ArrayList<>();
            while (port < 0) {
                Object[] l =
                        lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null)
                    throw new IOException(
                            "no 'Listening on' from connect within 30 s; saw " + texts);
                texts.add((String) l[1]);
                port = note(l, t0, seen);
            }
            double firstMs;
            try (Socket s = new Socket()) {
                s.setSoTimeout(FIRST_BYTE_TIMEOUT_MILLIS);
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                OutputStream out = s.getOutputStream();
                out.write(
                        ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                int b;
                try {
                    b = in.read();
                } catch (SocketTimeoutException e) {
                    throw new IOException(
                            "no response byte within "
                                    + FIRST_BYTE_TIMEOUT_MILLIS
                                    + " ms of sending the request");
                }
                firstMs = ms(System.nanoTime() - t0);
                if (b < 0)
                    throw new IOException(
                            "the connection through connect closed without a response byte");
            }
            // Keep the process until the path it is heading for is announced (bounded).
            long until =
                    Math.min(
                            deadline,
                            System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(directWait));
            while (mayGoDirect ? seen[2] < 0 : seen[1] < 0) {
                Object[] l =
                        lines.poll(Math.max(1, until - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) break;
                note(l, t0, seen);
            }
            while (!lines.isEmpty())
                note(lines.poll(), t0, seen); // lines that came together with the last
            stop(p, errors);
            errors.join(2000);
            return new Times(
                    seen[0],
                    seen[1],
                    seen[2],
                    firstMs,
                    pake[0],
                    pake[1],
                    new LinkedHashMap<>(timeline));
        } finally {
            stop(p, errors);
        }
    }

    /** SIGTERM: a clean stop closes the tunnel and the share's session with it. */
    private static void stop(Process p, Thread errors) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        errors.join(2000); // its last lines, then EOF
    }

    /**
     * Records the first time of each line kind; returns the port of a "Listening on" line, else -1.
     */
    private static int note(Object[] l, long t0, double[] seen) {
        String text = (String) l[1];
        double at = ms((long) l[0] - t0);
        if (text.startsWith("Listening on ")) {
            if (seen[0] < 0) seen[0] = at;
            return Integer.parseInt(text.substring(text.lastIndexOf(':') + 1).trim());
        }
        if (text.startsWith("Path: relay") && seen[1] < 0) seen[1] = at;
        if (text.startsWith("Path: direct") && seen[2] < 0) seen[2] = at;
        return -1;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    private static double median(List<Double> v) {
        return median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
