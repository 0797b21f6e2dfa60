package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.e2e.Lab;
import dev.appshare.peer.path.Transport;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The command line's exit codes, through the real commands against a real in-JVM server. */
class CliTest {
    /** A well-formed code (its words are in the lists) that no share holds. */
    private static final String CODE = "calm-otter-1234";

    @Test
    void versionAndHelpExitZero() {
        assertEquals(0, Main.run(false, "--version"));
        assertEquals(0, Main.run(false, "connect", "--help"));
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, Main.run(false, "share"));
        assertEquals(2, Main.run(false, "share", "--port", "80", "--transport", "sideways"));
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "1", "--transport", "udp"));
        assertEquals(2, Main.run(false, "frobnicate"));
        assertEquals(2, Main.run(false, "share", "--port", "22", "--port", "localhost:22"));
        assertEquals(2, Main.run(false, "share", "--port", "70000"));
        assertEquals(2, Main.run(false, "share", "--port", "db:0"));
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "4000:0"));
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "4000:ssh"));
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "4000", "--local", "4000:22"));
        assertEquals(2, Main.run(false, "connect", CODE)); // neither --local nor --stdio
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "4000", "--stdio"));
        assertEquals(2, Main.run(false, "connect", CODE, "--local", "4000", "--stdio-port", "22"));
        assertEquals(2, Main.run(false, "connect", CODE, "--stdio", "--stdio-port", "0"));
        // A bare host where no port is the natural default is refused, not taken as port 7000.
        for (String option : new String[] {"--relay-listen", "--http-listen", "--metrics-listen"})
            assertEquals(
                    2, Main.run(false, "server", "--listen", "127.0.0.1:0", option, "127.0.0.1"));
        // (with the files it needs named, so that the address is what is refused; they are read
        // only after it is parsed)
        assertEquals(
                2,
                Main.run(
                        false,
                        "server",
                        "--listen",
                        "127.0.0.1:0",
                        "--https-listen",
                        "127.0.0.1",
                        "--tls-cert",
                        "/nonexistent/cert.pem",
                        "--tls-key",
                        "/nonexistent/key.pem"));
    }

    @Test
    void directOnlyConnectFailsClearlyWhenTheShareTakesNoDirectPath() throws Exception {
        try (Lab lab = Lab.with(Transport.RELAY)) {
            String server = "127.0.0.1:" + lab.server().getPort();
            String name =
                    lab.share(lab.server().getPort())
                            .name(); // relay-only share (the port is never dialled)
            long t0 = System.nanoTime();
            assertEquals(
                    1,
                    Main.run(
                            false,
                            "connect",
                            name,
                            "--local",
                            "0",
                            "--server",
                            server,
                            "--transport",
                            "direct"));
            assertTrue(
                    System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15),
                    "the share said at once that it takes no direct path");
        }
    }

    @Test
    void unknownNameExitsTwo() throws Exception {
        try (Lab lab = new Lab()) {
            String server = "127.0.0.1:" + lab.server().getPort();
            assertEquals(
                    2,
                    Main.run(
                            false,
                            "connect",
                            "calm-otter-no-such-share",
                            "--local",
                            "0",
                            "--server",
                            server));
        }
    }

    /** A code that cannot be one (a word not in the lists) is refused before asking the server. */
    @Test
    void malformedCodeExitsTwoWithoutAskingTheServer() throws Exception {
        try (Lab lab = new Lab()) {
            String server = "127.0.0.1:" + lab.server().getPort();
            for (String code : new String[] {"no-such-share-1234", "calm-otter", "1234"}) {
                assertEquals(
                        2,
                        Main.run(false, "connect", code, "--local", "0", "--server", server),
                        code);
            }
            assertEquals(0, lab.rendezvous.testOnlyAcceptedConnections());
        }
    }

    @Test
    void localPortInUseExitsOne() throws Exception {
        try (Lab lab = new Lab();
                ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String server = "127.0.0.1:" + lab.server().getPort();
            assertEquals(
                    1,
                    Main.run(
                            false,
                            "connect",
                            CODE,
                            "--local",
                            Integer.toString(taken.getLocalPort()),
                            "--server",
                            server));
        }
    }

    /**
     * A metrics listener that cannot bind fails the server at start (exit 1), nothing left bound.
     */
    @Test
    void metricsPortInUseExitsOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int code =
                    assertTimeoutPreemptively(
                            Duration.ofSeconds(30),
                            () ->
                                    Main.run(
                                            false,
                                            "server",
                                            "--listen",
                                            "127.0.0.1:0",
                                            "--metrics-listen",
                                            "127.0.0.1:" + taken.getLocalPort()));
            assertEquals(1, code);
        }
    }
}
