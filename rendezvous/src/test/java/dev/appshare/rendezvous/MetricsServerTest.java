package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.AppshareServer.ListenFailure;
import dev.appshare.rendezvous.AppshareServer.Options;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A whole server on loopback with its metrics listener: a Prometheus-style scrape (plain HTTP, the
 * text format parsed line by line) sees the relay bytes rise during a transfer through a relay
 * pair, the live pair, the shares, STUN answers, refusals and handshakes; /healthz says ok; the
 * listener is bounded per address and in request size.
 */
class MetricsServerTest {
    private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
    private static final int CHUNK = 1 << 20;

    private final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    private final ServerStats stats = new ServerStats();
    private EventLoopGroup group;
    private AppshareServer server;
    private MetricsServer metrics;
    private int metricsPort;

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        for (int attempt = 0; server == null; attempt++) {
            try {
                server = AppshareServer.start(Options.of(ANY_PORT), tokens, group, stats);
            } catch (ListenFailure f) { // the UDP port of the TCP port's number was taken
                if (f.relay() || attempt >= 10) throw f;
            }
        }
        metrics =
                new MetricsServer(server.rendezvous(), server.relay(), stats)
                        .start(group, ANY_PORT);
        metricsPort = metrics.localAddress().getPort();
    }

    @AfterEach
    void stop() {
        if (metrics != null) metrics.close();
        if (server != null) server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void healthzSaysOk() throws Exception {
        Http r = get("/healthz");
        assertEquals(200, r.status, r.head);
        assertEquals("ok\n", r.body);
        assertEquals(404, get("/nothing").status);
    }

    @Test
    void relayBytesRiseBetweenScrapesDuringATransfer() throws Exception {
        Map<String, Double> before = scrape();
        assertEquals(0.0, before.get("appshare_relay_bytes_total"), before.toString());
        assertEquals(0.0, before.get("appshare_relay_pairs"));
        assertEquals(0.0, before.get("appshare_held_bytes"), "the gauge is exported");

        String token = tokens.mint(60_000);
        int relayPort = server.relay().localAddress().getPort();
        try (Socket a = new Socket("127.0.0.1", relayPort);
                Socket b = new Socket("127.0.0.1", relayPort)) {
            a.setSoTimeout(10_000);
            b.setSoTimeout(10_000);
            hello(a, token);
            hello(b, token);
            assertEquals(RelayProtocol.OK, readLine(a.getInputStream()));
            assertEquals(RelayProtocol.OK, readLine(b.getInputStream()));

            Random random = new Random(12);
            double last = 0;
            for (int round = 1; round <= 3; round++) {
                // A chunk each way, read in full on the other side (digests compared), then a
                // scrape while the pair is still open.
                carry(a, b, random);
                carry(b, a, random);
                Map<String, Double> m = scrape();
                double bytes = m.get("appshare_relay_bytes_total");
                assertEquals(2.0 * CHUNK * round, bytes, "round " + round + ": " + m);
                assertTrue(bytes > last);
                last = bytes;
                assertEquals(1.0, m.get("appshare_relay_pairs"));
                assertEquals(1.0, m.get("appshare_relay_paired_total"));
            }
            Map<String, Double> m = scrape();
            assertEquals(
                    1.0,
                    m.get("appshare_handshake_seconds_count{stage=\"relay_pairing\"}"),
                    "" + m);
        }
        // Both closed: the pair is gone (its close runs on the relay's loop: wait a bounded while).
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (scrape().get("appshare_relay_pairs") != 0.0 && System.nanoTime() < end)
            Thread.sleep(20);
        assertEquals(0.0, scrape().get("appshare_relay_pairs"));
    }

    @Test
    void countsSharesStunAnswersRefusalsAndRegistrations() throws Exception {
        int port = server.rendezvous().localAddress().getPort();
        try (ControlClient share = new ControlClient(port)) {
            String registered = share.register(ControlClient.newKey(), null);
            assertTrue(registered.startsWith("REGISTERED name="), registered);
            Map<String, Double> m = scrape();
            assertEquals(1.0, m.get("appshare_shares"), m.toString());
            assertEquals(1.0, m.get("appshare_handshake_seconds_count{stage=\"register\"}"));
        }
        try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            udp.setSoTimeout(10_000);
            Request r = MessageFactory.createBindingRequest();
            byte[] tid = new byte[12];
            new Random(1).nextBytes(tid);
            r.setTransactionID(tid);
            byte[] req = r.encode(null);
            udp.send(new DatagramPacket(req, req.length, server.rendezvous().stunAddress()));
            udp.receive(new DatagramPacket(new byte[1500], 1500));
        }
        assertEquals(1.0, scrape().get("appshare_stun_answers_total"));

        int relayPort = server.relay().localAddress().getPort();
        try (Socket s = new Socket("127.0.0.1", relayPort)) {
            s.setSoTimeout(10_000);
            hello(s, "not-a-token");
            assertEquals(RelayProtocol.ERR + RelayProtocol.BAD_TOKEN, readLine(s.getInputStream()));
        }
        assertEquals(
                1.0,
                scrape().get("appshare_rejections_total{reason=\"bad_token\",server=\"relay\"}"));
    }

    @Test
    void theListenerIsBoundedPerAddressAndInRequestSize() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < MetricsServer.PER_ADDRESS; i++)
                held.add(new Socket("127.0.0.1", metricsPort));
            // Each held connection is admitted once the server accepted it; the next is refused:
            // closed without an answer.
            try (Socket over = new Socket("127.0.0.1", metricsPort)) {
                over.setSoTimeout(10_000);
                assertEquals(-1, over.getInputStream().read());
            }
        } finally {
            for (Socket s : held) s.close();
        }
        // The held ones are released as their closes are seen: a scrape gets through again.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Map<String, Double> m = null;
        while (m == null && System.nanoTime() < end) {
            try {
                m = scrape();
            } catch (IOException | AssertionError refused) {
                Thread.sleep(20);
            }
        }
        // At least the one above; a retried scrape refused while the closes were not yet seen
        // counts too.
        Double refused =
                m.get(
                        "appshare_rejections_total{reason=\"connections_per_address\","
                                + "server=\"metrics\"}");
        assertTrue(refused != null && refused >= 1.0, "" + m);

        String huge = "x".repeat(MetricsServer.MAX_HEAD + 1);
        Http r = request("GET /metrics HTTP/1.1\r\nHost: a\r\nX-Big: " + huge + "\r\n\r\n");
        assertTrue(r.status == 400 || r.status == 431, r.head);
    }

    @Test
    void aSilentConnectionIsClosedAtItsDeadline() throws Exception {
        // A listener of its own with a short deadline (the shared one keeps 10 s: a scrape on a
        // busy machine must not be cut).
        try (MetricsServer quick =
                new MetricsServer(server.rendezvous(), server.relay(), new ServerStats())
                        .timeoutMillis(500)
                        .start(group, ANY_PORT)) {
            int port = quick.localAddress().getPort();
            try (Socket silent = new Socket("127.0.0.1", port)) {
                silent.setSoTimeout(10_000); // far past the deadline
                assertEquals(-1, silent.getInputStream().read());
            }
            try (Socket half = new Socket("127.0.0.1", port)) {
                half.setSoTimeout(10_000);
                half.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: a\r\n".getBytes());
                assertEquals(-1, half.getInputStream().read());
            }
        }
    }

    // ---- the relay clients

    private static void hello(Socket s, String token) throws IOException {
        s.getOutputStream()
                .write((RelayProtocol.HELLO + token + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new IOException("closed after " + line);
            line.write(c);
        }
        return line.toString(StandardCharsets.US_ASCII);
    }

    /** CHUNK random bytes from one socket to the other, compared by SHA-256. */
    private static void carry(Socket from, Socket to, Random random) throws Exception {
        byte[] sent = new byte[CHUNK];
        random.nextBytes(sent);
        Thread writer =
                new Thread(
                        () -> {
                            try {
                                OutputStream out = from.getOutputStream();
                                out.write(sent);
                                out.flush();
                            } catch (IOException e) {
                                throw new RuntimeException(e);
                            }
                        });
        writer.start();
        byte[] got = new byte[CHUNK];
        new DataInputStream(to.getInputStream()).readFully(got);
        writer.join(10_000);
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        assertArrayEquals(sha.digest(sent), MessageDigest.getInstance("SHA-256").digest(got));
    }

    // ---- the scraper

    private record Http(int status, String head, String body) {}

    private Http get(String path) throws IOException {
        return request("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }

    /** Sends one request and reads the answer to the server's close. */
    private Http request(String request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", metricsPort)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int split = all.indexOf("\r\n\r\n");
            if (split < 0) throw new IOException("no answer: " + all);
            String head = all.substring(0, split);
            return new Http(Integer.parseInt(head.split(" ")[1]), head, all.substring(split + 4));
        }
    }

    /**
     * GET /metrics, parsed: each sample line {@code name{labels} value} into the map, the name with
     * its labels as written (the client sorts them by name).
     */
    private Map<String, Double> scrape() throws IOException {
        Http r = get("/metrics");
        assertEquals(200, r.status, r.head);
        assertTrue(r.head.toLowerCase().contains("content-type: text/plain"), r.head);
        Map<String, Double> samples = new HashMap<>();
        for (String line : r.body.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return samples;
    }
}
