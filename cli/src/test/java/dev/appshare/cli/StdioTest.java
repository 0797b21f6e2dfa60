package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.e2e.Lab;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code connect --stdio}: a real {@code appshare connect} process carries its stdin/stdout over a
 * share, to an echo server and to a real sshd through ssh's ProxyCommand.
 */
class StdioTest {
    private static final long WAIT_SECONDS = 120;

    /** The command that runs this build's appshare in a new JVM. */
    private static List<String> appshare(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void tenMegabytesGoThroughStdioAndBackByDigest() throws Exception {
        byte[] data = new byte[10 << 20];
        new Random(12).nextBytes(data);
        try (Lab lab = new Lab();
                ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread echoer = new Thread(() -> echo(echo), "echo");
            echoer.setDaemon(true);
            echoer.start();
            String name = lab.share(echo.getLocalPort()).name();
            Process p =
                    new ProcessBuilder(
                                    appshare(
                                            "connect",
                                            name,
                                            "--stdio",
                                            "--server",
                                            "127.0.0.1:" + lab.server().getPort()))
                            .redirectError(ProcessBuilder.Redirect.INHERIT)
                            .start();
            try {
                CompletableFuture<Void> writer =
                        CompletableFuture.runAsync(
                                () -> {
                                    try (OutputStream in = p.getOutputStream()) {
                                        in.write(data);
                                    } catch (IOException e) {
                                        throw new RuntimeException(e);
                                    }
                                });
                CompletableFuture<byte[]> reader = readAll(p.getInputStream());
                byte[] back = reader.get(WAIT_SECONDS, TimeUnit.SECONDS);
                writer.get(WAIT_SECONDS, TimeUnit.SECONDS);
                assertTrue(p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), "connect --stdio exits");
                assertEquals(0, p.exitValue());
                assertEquals(data.length, back.length, "stdout holds the echoed bytes only");
                assertArrayEquals(sha256(data), sha256(back));
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void aShareOfSeveralPortsTakesStdioPortAndRefusesWithoutIt() throws Exception {
        byte[] data = new byte[100_000];
        new Random(32).nextBytes(data);
        try (Lab lab = new Lab();
                ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                ServerSocket other = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread echoer = new Thread(() -> echo(echo), "echo");
            echoer.setDaemon(true);
            echoer.start();
            String name =
                    lab.share(
                                    List.of(
                                            new InetSocketAddress(
                                                    "127.0.0.1", other.getLocalPort()),
                                            new InetSocketAddress(
                                                    "127.0.0.1", echo.getLocalPort())),
                                    null)
                            .name();
            String server = "127.0.0.1:" + lab.server().getPort();
            Result refused = stdio(data, "connect", name, "--stdio", "--server", server);
            assertEquals(1, refused.exit, "no port named: the share refuses the stream");
            assertEquals(0, refused.out.length, "nothing on stdout");
            Result port =
                    stdio(
                            data,
                            "connect",
                            name,
                            "--stdio",
                            "--stdio-port",
                            String.valueOf(echo.getLocalPort()),
                            "--server",
                            server);
            assertEquals(0, port.exit);
            assertArrayEquals(sha256(data), sha256(port.out));
        }
    }

    /**
     * The loopback port a --stdio connector listens on carries the process's own socket only: a
     * connection from another address is closed unanswered, and none is accepted after it.
     */
    @Test
    void theConnectorAdmitsOnlyItsOwnSocket() throws Exception {
        try (Lab lab = new Lab();
                ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread echoer = new Thread(() -> echo(echo), "echo");
            echoer.setDaemon(true);
            echoer.start();
            Connector connector = lab.connect(lab.share(echo.getLocalPort()).name());
            InetSocketAddress listener = connector.localAddress();
            try (Socket own = new Socket()) {
                own.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                connector.admitOnly(own.getLocalSocketAddress());
                try (Socket foreign = new Socket(listener.getAddress(), listener.getPort())) {
                    foreign.setSoTimeout(20_000);
                    foreign.getOutputStream().write("hello?".getBytes(StandardCharsets.UTF_8));
                    assertEquals(-1, readOrReset(foreign), "a foreign connection is closed");
                }
                own.connect(listener, 10_000);
                own.setSoTimeout(20_000);
                own.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
                assertEquals(
                        "ping",
                        new String(own.getInputStream().readNBytes(4), StandardCharsets.UTF_8));
                // the listener closes once its one connection is in (bounded: the close is async)
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                boolean refused = false;
                while (!refused && System.nanoTime() < deadline) {
                    try (Socket late = new Socket(listener.getAddress(), listener.getPort())) {
                        Thread.sleep(50);
                    } catch (IOException e) {
                        refused = true;
                    }
                }
                assertTrue(refused, "the listener closed after admitting its connection");
            }
        }
    }

    private static int readOrReset(Socket s) {
        try {
            return s.getInputStream().read();
        } catch (IOException e) {
            return -1; // reset: closed as well
        }
    }

    private record Result(int exit, byte[] out) {}

    /** Runs appshare with {@code input} on its stdin; its exit code and stdout. */
    private static Result stdio(byte[] input, String... args) throws Exception {
        Process p =
                new ProcessBuilder(appshare(args))
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        try {
            CompletableFuture.runAsync(
                    () -> {
                        try (OutputStream in = p.getOutputStream()) {
                            in.write(input);
                        } catch (IOException e) {
                            // it exited before reading all: the exit code says why
                        }
                    });
            byte[] out = readAll(p.getInputStream()).get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(p.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), "appshare exits");
            return new Result(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void sshRunsACommandThroughProxyCommand(@TempDir Path dir) throws Exception {
        Path sshd = Path.of("/usr/sbin/sshd");
        Assumptions.assumeTrue(
                Files.isExecutable(sshd) && Files.isExecutable(Path.of("/usr/bin/ssh")),
                "skipped: sshd or ssh is not installed (scripts/test installs openssh-server as"
                        + " root)");
        Path hostKey = dir.resolve("host_key");
        Path userKey = dir.resolve("user_key");
        run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey.toString()));
        run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", userKey.toString()));
        Path authorized = dir.resolve("authorized_keys");
        Files.copy(dir.resolve("user_key.pub"), authorized);
        Files.setPosixFilePermissions(authorized, PosixFilePermissions.fromString("rw-------"));
        // sshd's privilege separation directory, which a system without a running sshd may lack
        if (isRoot()) Files.createDirectories(Path.of("/run/sshd"));
        Assumptions.assumeTrue(
                Files.isDirectory(Path.of("/run/sshd")),
                "skipped: sshd needs /run/sshd, which only root can create");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path config = dir.resolve("sshd_config");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "ListenAddress 127.0.0.1",
                        "Port " + port,
                        "HostKey " + hostKey,
                        "AuthorizedKeysFile " + authorized,
                        "PidFile " + dir.resolve("sshd.pid"),
                        "StrictModes no",
                        "PasswordAuthentication no",
                        "KbdInteractiveAuthentication no",
                        "PubkeyAuthentication yes",
                        "PermitRootLogin prohibit-password",
                        "UsePAM no",
                        ""));
        Process daemon =
                new ProcessBuilder(sshd.toString(), "-D", "-e", "-f", config.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("sshd.log").toFile())
                        .start();
        byte[] data = new byte[1 << 20];
        new Random(22).nextBytes(data);
        try (Lab lab = new Lab()) {
            awaitListening(port, daemon, dir.resolve("sshd.log"));
            String name = lab.share(port).name();
            String proxy =
                    String.join(
                            " ",
                            appshare(
                                            "connect",
                                            name,
                                            "--stdio",
                                            "--server",
                                            "127.0.0.1:" + lab.server().getPort())
                                    .stream()
                                    .map(StdioTest::quoted)
                                    .toList());
            Process ssh =
                    new ProcessBuilder(
                                    "ssh",
                                    "-F",
                                    "/dev/null",
                                    "-o",
                                    "ProxyCommand=" + proxy,
                                    "-o",
                                    "StrictHostKeyChecking=no",
                                    "-o",
                                    "UserKnownHostsFile=/dev/null",
                                    "-o",
                                    "BatchMode=yes",
                                    "-o",
                                    "IdentitiesOnly=yes",
                                    "-i",
                                    userKey.toString(),
                                    System.getProperty("user.name") + "@appshare-share",
                                    "echo hello; sha256sum")
                            .redirectError(ProcessBuilder.Redirect.INHERIT)
                            .start();
            try {
                CompletableFuture.runAsync(
                        () -> {
                            try (OutputStream in = ssh.getOutputStream()) {
                                in.write(data);
                            } catch (IOException e) {
                                throw new RuntimeException(e);
                            }
                        });
                String out =
                        new String(
                                readAll(ssh.getInputStream()).get(WAIT_SECONDS, TimeUnit.SECONDS),
                                StandardCharsets.UTF_8);
                assertTrue(ssh.waitFor(WAIT_SECONDS, TimeUnit.SECONDS), "ssh exits");
                assertEquals(
                        "hello\n" + HexFormat.of().formatHex(sha256(data)) + "  -\n",
                        out,
                        "the command's output, through the share (sshd's log: "
                                + dir.resolve("sshd.log")
                                + ")");
                assertEquals(0, ssh.exitValue());
            } finally {
                ssh.destroyForcibly();
            }
        } finally {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) daemon.destroyForcibly();
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static String quoted(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    private static void awaitListening(int port, Process daemon, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            assertTrue(daemon.isAlive(), () -> "sshd exited: " + read(log));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("sshd does not listen: " + read(log));
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
    }

    private static CompletableFuture<byte[]> readAll(InputStream in) {
        return CompletableFuture.supplyAsync(
                () -> {
                    try (in) {
                        ByteArrayOutputStream out = new ByteArrayOutputStream();
                        in.transferTo(out);
                        return out.toByteArray();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
    }

    /** Echoes each connection until its end, then closes it. */
    private static void echo(ServerSocket server) {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t =
                        new Thread(
                                () -> {
                                    try (s) {
                                        s.getInputStream().transferTo(s.getOutputStream());
                                    } catch (IOException e) {
                                        // the test sees what is missing
                                    }
                                });
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }
}
