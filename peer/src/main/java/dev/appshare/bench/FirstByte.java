package dev.appshare.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark helper for scripts/bench: how long a user waits from starting {@code appshare connect}
 * to the first byte of an HTTP response through its local port, over fresh processes (cold JVMs,
 * as a user gets them).
 *
 * <p>Each run starts {@code LAUNCHER connect NAME --local 0 --server S}, notes when "Listening on"
 * and "Path:" appear on its stdout, and as soon as the port is printed connects to it and sends one
 * HTTP GET (connect queues the connection until the tunnel is up, so this is what a browser opened
 * at once would see). It then stops the process with SIGTERM. The JVM's own start-up is measured
 * apart, as the wall time of {@code LAUNCHER --version}.
 *
 * <pre>
 *   FirstByte --launcher scripts/appshare --server HOST:PORT --name NAME [--runs 5] [--log FILE]
 * </pre>
 * Prints one line per run and a last line of medians:
 * {@code median jvm_ms=.. listen_ms=.. path_ms=.. first_byte_ms=.. ok=N failed=N}; a run that gets no
 * response byte within {@value #FIRST_BYTE_TIMEOUT_MILLIS} ms counts as failed and is left out of the medians.
 */
public final class FirstByte {
    static final int FIRST_BYTE_TIMEOUT_MILLIS = 10_000;

    private FirstByte() {}

    public static void main(String[] args) throws Exception {
        String launcher = null, server = null, name = null, log = null;
        int runs = 5;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--launcher" -> launcher = args[i + 1];
                case "--server" -> server = args[i + 1];
                case "--name" -> name = args[i + 1];
                case "--runs" -> runs = Integer.parseInt(args[i + 1]);
                case "--log" -> log = args[i + 1];
                default -> {
                    System.err.println("FirstByte: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (launcher == null || server == null || name == null) {
            System.err.println("usage: FirstByte --launcher L --server HOST:PORT --name NAME [--runs N] [--log FILE]");
            System.exit(2);
        }
        File logFile = new File(log != null ? log : "/dev/null");

        double[] jvm = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(launcher, "--version")
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

        List<Double> listen = new ArrayList<>(), path = new ArrayList<>(), first = new ArrayList<>();
        int failed = 0;
        for (int i = 0; i < runs; i++) {
            try {
                double[] r = connectOnce(launcher, server, name, logFile);
                listen.add(r[0]);
                path.add(r[1]);
                first.add(r[2]);
                System.out.printf(Locale.ROOT, "connect run %d: listening %.0f ms, path %.0f ms, first byte %.0f ms%n",
                        i + 1, r[0], r[1], r[2]);
            } catch (IOException e) {
                failed++;
                System.out.printf("connect run %d: failed: %s%n", i + 1, e.getMessage());
            }
        }
        System.out.printf(Locale.ROOT, "median jvm_ms=%.0f listen_ms=%.0f path_ms=%.0f first_byte_ms=%.0f ok=%d failed=%d%n",
                median(jvm), median(listen), median(path), median(first), listen.size(), failed);
    }

    /** One cold connect: {ms to "Listening on", ms to "Path:", ms to the first response byte}. */
    private static double[] connectOnce(String launcher, String server, String name, File log) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(launcher, "connect", name, "--local", "0", "--server", server)
                .redirectError(ProcessBuilder.Redirect.appendTo(log))
                .start();
        LinkedBlockingQueue<Object[]> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) lines.add(new Object[] {System.nanoTime(), line});
            } catch (IOException ignored) {
                // the process went away
            }
        }, "connect-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            double listenMs = -1, pathMs = -1;
            int port = -1;
            List<String> seen = new ArrayList<>();
            while (port < 0) {
                Object[] l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) throw new IOException("no 'Listening on' from connect within 30 s; saw " + seen);
                String text = (String) l[1];
                seen.add(text);
                if (text.startsWith("Listening on ")) {
                    listenMs = ms((long) l[0] - t0);
                    port = Integer.parseInt(text.substring(text.lastIndexOf(':') + 1).trim());
                } else if (text.startsWith("Path:")) {
                    pathMs = ms((long) l[0] - t0);
                }
            }
            double firstMs;
            try (Socket s = new Socket()) {
                s.setSoTimeout(FIRST_BYTE_TIMEOUT_MILLIS);
                s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                OutputStream out = s.getOutputStream();
                out.write(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                int b;
                try {
                    b = in.read();
                } catch (java.net.SocketTimeoutException e) {
                    throw new IOException("no response byte within " + FIRST_BYTE_TIMEOUT_MILLIS + " ms of sending the request");
                }
                firstMs = ms(System.nanoTime() - t0);
                if (b < 0) throw new IOException("the connection through connect closed without a response byte");
            }
            while (pathMs < 0) {
                Object[] l = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (l == null) break;
                if (((String) l[1]).startsWith("Path:")) pathMs = ms((long) l[0] - t0);
            }
            return new double[] {listenMs, pathMs, firstMs};
        } finally {
            p.destroy(); // SIGTERM: a clean stop closes the tunnel and the share's session with it
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
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
