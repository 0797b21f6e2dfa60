package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.e2e.Lab;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code share --keep-code FILE} through the real command: a file others can read, a malformed one
 * and a --name that is not the kept one exit 2 before the server is asked; and a share process
 * killed and started again from the same file prints the same code, and a connector started before
 * the restart carries on after it (bytes compared by SHA-256).
 */
class KeepCodeCliTest {
    private static final long LEN = 1 << 20;

    @TempDir Path dir;

    @Test
    void aFileOthersCanReadOrAMalformedOneExitsTwoAndIsLeftAsItIs() throws Exception {
        try (Lab lab = new Lab()) {
            String server = "127.0.0.1:" + lab.server().getPort();
            Path f = dir.resolve("share.code");
            assertEquals(
                    2,
                    Main.run(
                            false,
                            "share",
                            "--port",
                            "1",
                            "--keep-code",
                            f.toString(),
                            "--public-auth",
                            "a:b",
                            "--server",
                            server));
            // a usage error comes before the file: nothing made
            assertTrue(Files.notExists(f));
            Files.writeString(f, "appshare-keep-code=1\nwords=nope\n");
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
            byte[] malformed = Files.readAllBytes(f);
            assertEquals(2, share(f, server));
            assertArrayEquals(malformed, Files.readAllBytes(f), "a malformed file is kept as is");

            Path open = dir.resolve("open.code");
            dev.appshare.peer.share.KeptCode.open(open, new java.security.SecureRandom())
                    .registered("kept-name");
            byte[] before = Files.readAllBytes(open);
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
            assertEquals(2, share(open, server));
            assertArrayEquals(before, Files.readAllBytes(open));

            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-------"));
            assertEquals(
                    2,
                    Main.run(
                            false,
                            "share",
                            "--port",
                            "1",
                            "--keep-code",
                            open.toString(),
                            "--name",
                            "another-name",
                            "--server",
                            server));
            assertEquals(
                    0, lab.rendezvous.testOnlyAcceptedConnections(), "the server was not asked");
        }
    }

    private static int share(Path f, String server) {
        return Main.run(
                false, "share", "--port", "1", "--keep-code", f.toString(), "--server", server);
    }

    @Test
    void aKilledShareProcessComesBackUnderItsCodeAndTheSameConnectorCarriesOn() throws Exception {
        Path f = dir.resolve("share.code");
        try (Lab lab = new Lab();
                ServerSocket source = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread serving = new Thread(() -> serve(source), "source");
            serving.setDaemon(true);
            serving.start();
            String server = "127.0.0.1:" + lab.server().getPort();
            String port = Integer.toString(source.getLocalPort());

            ShareProcess first = new ShareProcess(f, server, port);
            String code;
            Connector c;
            try {
                code = first.awaitName();
                c = lab.connect(code);
                assertEquals(expected(1), fetch(c.localAddress().getPort(), 1));
            } finally {
                first.kill();
            }
            ShareProcess second = new ShareProcess(f, server, port);
            try {
                assertEquals(code, second.awaitName(), "the restarted share's code");
                String got = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
                while (got == null && System.nanoTime() < deadline) {
                    try {
                        String d = fetch(c.localAddress().getPort(), 2);
                        if (d.equals(expected(2))) got = d;
                        else Thread.sleep(200);
                    } catch (IOException notYet) {
                        Thread.sleep(200);
                    }
                }
                assertEquals(expected(2), got, "the same connector, after the restart");
            } finally {
                second.kill();
            }
        }
    }

    /** {@code appshare share} in a JVM of its own, on this test's class path. */
    private static final class ShareProcess {
        final Process p;
        final List<String> lines = new CopyOnWriteArrayList<>();

        ShareProcess(Path file, String server, String port) throws IOException {
            p =
                    new ProcessBuilder(
                                    Path.of(System.getProperty("java.home"), "bin", "java")
                                            .toString(),
                                    "-cp",
                                    System.getProperty("java.class.path"),
                                    "dev.appshare.cli.Main",
                                    "share",
                                    "--port",
                                    port,
                                    "--keep-code",
                                    file.toString(),
                                    "--server",
                                    server,
                                    "--transport",
                                    "relay")
                            .redirectErrorStream(true)
                            .start();
            Thread t =
                    new Thread(
                            () -> {
                                try (BufferedReader r =
                                        new BufferedReader(
                                                new InputStreamReader(
                                                        p.getInputStream(),
                                                        StandardCharsets.UTF_8))) {
                                    String l;
                                    while ((l = r.readLine()) != null) lines.add(l);
                                } catch (IOException ended) {
                                    // the process is gone
                                }
                            },
                            "share-output");
            t.setDaemon(true);
            t.start();
        }

        String awaitName() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && p.isAlive()) {
                for (String l : lines) if (l.startsWith("Name: ")) return l.substring(6);
                Thread.sleep(50);
            }
            for (String l : lines) if (l.startsWith("Name: ")) return l.substring(6);
            throw new AssertionError("no Name: line; output: " + lines);
        }

        /** SIGKILL: the share says goodbye to no one; the server sees its connection drop. */
        void kill() throws InterruptedException {
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        }
    }

    /** Each connection: an 8-byte seed in, LEN pseudo-random bytes from it out. */
    private static void serve(ServerSocket ss) {
        while (!ss.isClosed()) {
            try {
                Socket s = ss.accept();
                Thread t =
                        new Thread(
                                () -> {
                                    try (s) {
                                        long seed =
                                                new DataInputStream(s.getInputStream()).readLong();
                                        send(s.getOutputStream(), seed);
                                    } catch (IOException ignored) {
                                        // the test judges what arrived
                                    }
                                });
                t.setDaemon(true);
                t.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    private static String send(OutputStream out, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        MessageDigest md = sha256();
        byte[] buf = new byte[64 << 10];
        for (long left = LEN; left > 0; ) {
            int n = (int) Math.min(buf.length, left);
            for (int i = 0; i < n; i++) buf[i] = (byte) r.nextInt();
            md.update(buf, 0, n);
            out.write(buf, 0, n);
            left -= n;
        }
        out.flush();
        return HexFormat.of().formatHex(md.digest());
    }

    private static String expected(long seed) throws IOException {
        return send(OutputStream.nullOutputStream(), seed);
    }

    private static String fetch(int port, long seed) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            new DataOutputStream(s.getOutputStream()).writeLong(seed);
            MessageDigest md = sha256();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 << 10];
            int n;
            while ((n = in.read(buf)) >= 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
