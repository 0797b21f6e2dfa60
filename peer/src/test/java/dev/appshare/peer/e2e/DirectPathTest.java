package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The direct path on its own: ICE over the rendezvous, QUIC on the validated 5-tuple. */
class DirectPathTest {
    private static final Pattern PATH =
            Pattern.compile(
                    "Path: direct \\(udp 127\\.0\\.0\\.1:(\\d+) <-> 127\\.0\\.0\\.1:(\\d+),");

    @Test
    void hostileDatagramsAtBothTunnelSocketsChangeNothing() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab();
                DatagramSocket attacker = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            lab.transport = Transport.DIRECT;
            Connector c = lab.connect(lab.share(echo.port()).name());
            Matcher m = PATH.matcher(lab.awaitLine("Path: direct", 0, 10_000));
            assertTrue(m.find());
            Random r = new Random(11);
            for (int port :
                    new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))}) {
                InetSocketAddress to = new InetSocketAddress("127.0.0.1", port);
                for (int i = 0; i < 2000; i++) {
                    byte[] d = new byte[1 + r.nextInt(i % 10 == 0 ? 1500 : 120)];
                    r.nextBytes(d);
                    switch (i % 5) {
                        case 0 -> { // STUN-looking: type 0..3, the magic cookie, random rest (for
                            // ice4j to parse)
                            if (d.length < 20) d = Arrays.copyOf(d, 20 + d.length);
                            d[0] = (byte) (d[0] & 0x03);
                            d[4] = 0x21;
                            d[5] = 0x12;
                            d[6] = (byte) 0xA4;
                            d[7] = 0x42;
                        }
                        case 1 -> d[0] = 0x20; // a probe of the wrong size, or from a stranger
                        case 2 -> d[0] = 0x21; // a forged probe answer
                        case 3 -> d[0] = (byte) (d[0] | 0xC0); // QUIC long header garbage
                        default -> {}
                    }
                    attacker.send(new DatagramPacket(d, d.length, to));
                }
            }
            assertEquals(
                    "still direct",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "still direct"));
            assertEquals(
                    1,
                    lab.consoleLines.stream().filter(l -> l.startsWith("Path: ")).count(),
                    "no path change: " + lab.consoleLines);
        }
    }

    @Test
    void autoConnectorReachesADirectOnlyShare() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.AUTO)) {
            lab.shareTransport =
                    Transport.DIRECT; // never dials the relay: the connector's pairing fails
            Connector c = lab.connect(lab.share(echo.port()).name());
            assertTrue(
                    lab.awaitLine("Path: ", 0, 30_000).startsWith("Path: direct"),
                    lab.consoleLines.toString());
            assertEquals(
                    "no relay",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "no relay"));
        }
    }

    @Test
    void autoPeersGoDirectWhenTheRelayAcceptsButNeverAnswers() throws Exception {
        // A "relay" that takes the TCP connection and the RELAY line, then says nothing: the
        // peers learn only after 15 s that it will not pair, longer than the tunnel deadline.
        try (TestServers.Tcp silentRelay =
                        new TestServers.Tcp(
                                s ->
                                        s.getInputStream()
                                                .transferTo(OutputStream.nullOutputStream()));
                TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab("127.0.0.1:" + silentRelay.port())) {
            lab.transport = Transport.AUTO;
            Connector c = lab.connect(lab.share(echo.port()).name());
            assertTrue(
                    lab.awaitLine("Path: ", 0, 30_000).startsWith("Path: direct"),
                    lab.consoleLines.toString());
            assertEquals(
                    "silent relay",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "silent relay"));
        }
    }

    @Test
    void directPathOverIpv6Loopback() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab()) {
            lab.transport = Transport.DIRECT;
            lab.hostAddresses = List.of(InetAddress.getByName("::1"));
            Connector c = lab.connect(lab.share(echo.port()).name());
            String path = lab.awaitLine("Path: ", 0, 10_000);
            assertTrue(path.startsWith("Path: direct (udp [0:0:0:0:0:0:0:1]:"), path);
            assertEquals(
                    "over ::1",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "over ::1"));
        }
    }

    @Test
    void directOnlyTunnelCarriesAnEcho() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab()) {
            lab.transport = Transport.DIRECT;
            Sharer sharer = lab.share(echo.port());
            Connector c = lab.connect(sharer.name());
            String path = lab.awaitLine("Path: ", 0, 10_000);
            assertTrue(path.startsWith("Path: direct (udp 127.0.0.1:"), path);
            assertEquals("hello", ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "hello"));
            assertTrue(
                    lab.consoleLines.stream().noneMatch(l -> l.startsWith("Path: relay")),
                    lab.consoleLines.toString());
        }
    }
}
