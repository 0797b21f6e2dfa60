package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code share} and {@code connect} as real processes on loopback, with a real server: in a
 * pseudo-terminal (util-linux {@code script}) they keep one status line updated in place below the
 * contract lines; through a pipe they print the plain lines alone; {@code --quiet} prints the
 * contract lines and nothing else; a connector whose direct path cannot form says why once. Also
 * which libraries' warnings reach stderr.
 */
class StatusLineTest {
    private static final int BYTES = 2_000_000;
    private static final String CLEAR = "\r\033[K";
    private static final long DEADLINE_MILLIS = 60_000;

    @TempDir Path dir;
    private final List<Process> processes = new ArrayList<>();
    private ServerSocket app;
    private byte[] payload;

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (app != null) app.close();
    }

    @Test
    void inATerminalAStatusLineIsRedrawnInPlaceBelowWholeContractLines() throws Exception {
        String server = startServer();
        Path shareOut = dir.resolve("share.tty");
        inTerminal(
                shareOut, "share", "--server", server, "--port", appPort(), "--transport", "relay");
        String code = await(shareOut, Pattern.compile("Name: ([a-z0-9-]+)")).group(1);
        Path connectOut = dir.resolve("connect.tty");
        inTerminal(
                connectOut,
                "connect",
                code,
                "--server",
                server,
                "--local",
                "0",
                "--transport",
                "relay");
        int local =
                Integer.parseInt(
                        await(connectOut, Pattern.compile("Listening on 127\\.0\\.0\\.1:(\\d+)"))
                                .group(1));
        await(connectOut, Pattern.compile("Path: relay"));
        fetchAndCheck(local);

        // The connector's status line: redrawn in place (\r, clear line), the path and the bytes.
        Matcher status =
                await(
                        connectOut,
                        Pattern.compile(
                                Pattern.quote(CLEAR)
                                        + "(relay 127\\.0\\.0\\.1:\\d+[^\r\n"
                                        + "]*in 2\\.0 MB[^\r\n"
                                        + "\033]*)"));
        assertTrue(status.group(1).contains("| out "), status.group(1));
        String c = read(connectOut);
        // The contract lines are whole lines: the status line is cleared before them (the pty
        // turns \n into \r\n).
        assertTrue(c.contains(CLEAR + "Listening on 127.0.0.1:" + local + "\r\n"), visible(c));
        assertTrue(
                Pattern.compile(
                                Pattern.quote(CLEAR)
                                        + "Path: relay \\(via 127\\.0\\.0\\.1:\\d+\\)\r\n")
                        .matcher(c)
                        .find(),
                visible(c));
        assertTrue(count(c, CLEAR) >= 3, "redrawn more than once: " + visible(c));

        // The share's: its connector and the bytes it sent.
        await(
                shareOut,
                Pattern.compile(
                        Pattern.quote(CLEAR) + "1 connector \\(0 direct\\) \\| out 2\\.0 MB"));
        String s = read(shareOut);
        assertTrue(s.contains(CLEAR + "Ports: " + app.getLocalPort() + "\r\n"), visible(s));
    }

    @Test
    void throughAPipeOnlyThePlainLines() throws Exception {
        String server = startServer();
        Path shareOut = dir.resolve("share.out");
        Path shareErr = dir.resolve("share.err");
        piped(
                shareOut,
                shareErr,
                "share",
                "--server",
                server,
                "--port",
                appPort(),
                "--transport",
                "relay");
        String code = await(shareOut, Pattern.compile("Name: ([a-z0-9-]+)")).group(1);
        Path connectOut = dir.resolve("connect.out");
        Path connectErr = dir.resolve("connect.err");
        piped(
                connectOut,
                connectErr,
                "connect",
                code,
                "--server",
                server,
                "--local",
                "0",
                "--transport",
                "relay");
        int local =
                Integer.parseInt(
                        await(connectOut, Pattern.compile("Listening on 127\\.0\\.0\\.1:(\\d+)"))
                                .group(1));
        await(connectOut, Pattern.compile("Path: relay"));
        fetchAndCheck(local);
        Thread.sleep(2 * StatusLine.PERIOD_MILLIS); // a status line would have been drawn by now
        String c = read(connectOut);
        String s = read(shareOut);
        assertEquals(
                List.of("Listening on 127.0.0.1:" + local, "Path: relay (via " + relayOf(c) + ")"),
                c.lines().toList());
        assertEquals(List.of("Name: " + code, "Ports: " + app.getLocalPort()), s.lines().toList());
        for (String out : List.of(c, s, read(connectErr), read(shareErr))) {
            assertFalse(out.contains("\r") || out.contains("\033"), visible(out));
        }
        assertTrue(read(connectErr).contains("[INFO] Connector - tunnel to"), read(connectErr));
    }

    @Test
    void quietPrintsTheContractLinesAndNothingElse() throws Exception {
        String server = startServer();
        Path shareOut = dir.resolve("share.out");
        Path shareErr = dir.resolve("share.err");
        piped(
                shareOut,
                shareErr,
                "share",
                "--quiet",
                "--server",
                server,
                "--port",
                appPort(),
                "--transport",
                "relay");
        String code = await(shareOut, Pattern.compile("Name: ([a-z0-9-]+)")).group(1);
        Path connectOut = dir.resolve("connect.tty");
        // In a terminal: --quiet draws no status line either (stderr shares the pty here).
        inTerminal(
                connectOut,
                "connect",
                code,
                "--quiet",
                "--server",
                server,
                "--local",
                "0",
                "--transport",
                "relay");
        int local =
                Integer.parseInt(
                        await(connectOut, Pattern.compile("Listening on 127\\.0\\.0\\.1:(\\d+)"))
                                .group(1));
        await(connectOut, Pattern.compile("Path: relay"));
        fetchAndCheck(local);
        Thread.sleep(2 * StatusLine.PERIOD_MILLIS);
        String c = read(connectOut);
        assertEquals(
                List.of("Listening on 127.0.0.1:" + local, "Path: relay (via " + relayOf(c) + ")"),
                c.lines().map(l -> l.replace("\r", "")).toList(),
                visible(c));
        assertFalse(c.contains("\033"), visible(c));
        assertEquals(
                List.of("Name: " + code, "Ports: " + app.getLocalPort()),
                read(shareOut).lines().toList());
        assertEquals("", read(shareErr), "nothing on stderr at INFO with --quiet");
    }

    @Test
    void aConnectorWithoutADirectPathSaysWhyOnceAtTheDefaultLevel() throws Exception {
        String server = startServer();
        Path shareOut = dir.resolve("share.out");
        piped(
                shareOut,
                dir.resolve("share.err"),
                "share",
                "--server",
                server,
                "--port",
                appPort(),
                "--transport",
                "relay");
        String code = await(shareOut, Pattern.compile("Name: ([a-z0-9-]+)")).group(1);
        Path connectOut = dir.resolve("connect.out");
        Path connectErr = dir.resolve("connect.err");
        // --transport auto (the default): the connector looks for a direct path the share refuses.
        piped(connectOut, connectErr, "connect", code, "--server", server, "--local", "0");
        int local =
                Integer.parseInt(
                        await(connectOut, Pattern.compile("Listening on 127\\.0\\.0\\.1:(\\d+)"))
                                .group(1));
        String why =
                "no direct path to the peer: the other peer does not take direct paths (it runs"
                        + " with --transport relay); staying on the relay";
        await(connectErr, Pattern.compile(Pattern.quote(why)));
        fetchAndCheck(local); // the relay carries on
        Thread.sleep(2_000);
        String err = read(connectErr);
        assertEquals(1, err.lines().filter(l -> l.contains("direct path")).count(), err);
    }

    @Test
    void librariesWarningsStayOffStderrUnlessVerbose() throws Exception {
        String normal = probe(false, false);
        assertFalse(normal.contains("ICE4J"), normal);
        assertFalse(normal.contains("NETTY-WARNING"), normal);
        assertTrue(normal.contains("APPSHARE-INFO") && normal.contains("APPSHARE-WARNING"), normal);
        String verbose = probe(true, false); // the probe can see them: --verbose shows them all
        for (String m :
                List.of(
                        "ICE4J-JUL-WARNING",
                        "ICE4J-SLF4J-WARNING",
                        "NETTY-WARNING",
                        "APPSHARE-INFO")) assertTrue(verbose.contains(m), verbose);
        String quiet = probe(false, true);
        assertFalse(
                quiet.contains("APPSHARE-INFO")
                        || quiet.contains("ICE4J")
                        || quiet.contains("NETTY"),
                quiet);
        assertTrue(quiet.contains("APPSHARE-WARNING"), quiet);
    }

    // ---- helpers ----

    private String probe(boolean verbose, boolean quiet) throws Exception {
        Path err = dir.resolve("probe-" + verbose + quiet + ".err");
        List<String> cmd = new ArrayList<>(java());
        cmd.add(LoggingProbe.class.getName());
        cmd.add(String.valueOf(verbose));
        cmd.add(String.valueOf(quiet));
        Process p =
                new ProcessBuilder(cmd)
                        .redirectOutput(dir.resolve("probe.out").toFile())
                        .redirectError(err.toFile())
                        .start();
        processes.add(p);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return read(err);
    }

    private static List<String> java() {
        return List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto",
                "-cp",
                System.getProperty("java.class.path"));
    }

    private static List<String> appshare(String... args) {
        List<String> cmd = new ArrayList<>(java());
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private String startServer() throws Exception {
        Path out = dir.resolve("server.out");
        piped(
                out,
                dir.resolve("server.err"),
                "server",
                "--listen",
                "127.0.0.1:0",
                "--relay-listen",
                "127.0.0.1:0");
        return "127.0.0.1:"
                + await(out, Pattern.compile("Rendezvous on 127\\.0\\.0\\.1:(\\d+)")).group(1);
    }

    private void piped(Path out, Path err, String... args) throws IOException {
        Process p =
                new ProcessBuilder(appshare(args))
                        .redirectInput(new File("/dev/null"))
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
        processes.add(p);
    }

    /**
     * Runs appshare in a pseudo-terminal (util-linux script); the terminal's output goes to out.
     */
    private void inTerminal(Path out, String... args) throws IOException {
        StringBuilder line = new StringBuilder("exec");
        for (String a : appshare(args))
            line.append(" '").append(a.replace("'", "'\\''")).append('\'');
        ProcessBuilder pb =
                new ProcessBuilder("script", "-q", "-e", "-c", line.toString(), "/dev/null")
                        .redirectInput(new File("/dev/null"))
                        .redirectOutput(out.toFile())
                        .redirectError(dir.resolve(out.getFileName() + ".script-err").toFile());
        pb.environment().put("TERM", "xterm");
        pb.environment().put("COLUMNS", "200");
        processes.add(pb.start());
    }

    /** The shared app: sends the payload to each connection, then closes it. */
    private String appPort() throws IOException {
        payload = new byte[BYTES];
        new Random(12).nextBytes(payload);
        app = new ServerSocket();
        app.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread t =
                new Thread(
                        () -> {
                            while (!app.isClosed()) {
                                try (Socket s = app.accept()) {
                                    s.getOutputStream().write(payload);
                                } catch (IOException e) {
                                    // closed, or the connection broke: the test's check sees it
                                }
                            }
                        });
        t.setDaemon(true);
        t.start();
        return String.valueOf(app.getLocalPort());
    }

    private void fetchAndCheck(int local) throws Exception {
        try (Socket s = new Socket("127.0.0.1", local)) {
            s.setSoTimeout(30_000);
            InputStream in = s.getInputStream();
            byte[] got = in.readAllBytes();
            assertEquals(sha256(payload), sha256(got), "the bytes through the tunnel");
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static Matcher await(Path file, Pattern p) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (System.nanoTime() < end) {
            Matcher m = p.matcher(read(file));
            if (m.find()) return m;
            Thread.sleep(100);
        }
        fail(
                "no "
                        + p
                        + " in "
                        + file.getFileName()
                        + " within "
                        + DEADLINE_MILLIS / 1000
                        + " s: "
                        + visible(read(file)));
        return null;
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }

    private static String relayOf(String out) {
        Matcher m = Pattern.compile("Path: relay \\(via (127\\.0\\.0\\.1:\\d+)\\)").matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }

    private static String visible(String s) {
        return s.replace("\r", "\\r").replace("\033", "\\e");
    }
}
