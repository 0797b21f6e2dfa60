package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code appshare doctor} as a process: the lines and the verdict, one JSON object with --json,
 * nothing on stderr at the default level (no library warnings), exit 0 when the server answers and
 * 1 when it does not.
 */
class DoctorCliTest {
    record Run(int exit, List<String> out, String err) {}

    private static Run doctor(String... args) throws Exception {
        List<String> cmd =
                new java.util.ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                Main.class.getName(),
                                "doctor"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Run(
                p.exitValue(), new String(out, StandardCharsets.UTF_8).lines().toList(), err);
    }

    @Test
    void aReachableServerExitsZeroWithTheFindingsAndAVerdict() throws Exception {
        EventLoopGroup group = EventLoops.newGroup(1);
        try (AppshareServer s =
                AppshareServer.start(
                        AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", 0)),
                        new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()),
                        group)) {
            String server = "127.0.0.1:" + s.rendezvous().localAddress().getPort();
            Run text = doctor("--server", server);
            assertEquals(0, text.exit(), text.err());
            assertEquals("", text.err(), "nothing on stderr");
            assertEquals("appshare doctor: " + server, text.out().get(0));
            assertTrue(
                    text.out().stream().anyMatch(l -> l.matches("  NAT type +none")),
                    text.out().toString());
            assertTrue(
                    text.out()
                            .get(text.out().size() - 1)
                            .startsWith("Verdict: direct with any peer"),
                    text.out().toString());

            Run json = doctor("--server", server, "--json");
            assertEquals(0, json.exit(), json.err());
            assertEquals(1, json.out().size(), "one line: " + json.out());
            String j = json.out().get(0);
            assertTrue(
                    j.startsWith(
                            "{\"server\":\"" + server + "\",\"reachable\":true,\"nat\":\"none\""),
                    j);
            assertTrue(j.contains("\"alt_port\":" + s.rendezvous().stunAltAddress().getPort()), j);
            assertTrue(j.endsWith("}"), j);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void anUnreachableServerExitsOneAndSaysSo() throws Exception {
        int dead;
        try (ServerSocket tcp = new ServerSocket(0)) {
            dead = tcp.getLocalPort();
        }
        Run run = doctor("--server", "127.0.0.1:" + dead);
        assertEquals(1, run.exit(), run.err());
        assertEquals("", run.err(), "nothing on stderr");
        String verdict = run.out().get(run.out().size() - 1);
        assertTrue(
                verdict.startsWith(
                        "Verdict: cannot reach the server at 127.0.0.1:"
                                + dead
                                + " (connection refused)"),
                verdict);
    }
}
