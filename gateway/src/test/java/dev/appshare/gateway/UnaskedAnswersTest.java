package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.share.Sharer;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A share's application that answers more than it was asked: the extra answer must never reach the
 * visitor's connection, whose next request may (behind a reverse proxy that keeps its connections
 * to the gateway) be another visitor's, for another share. The gateway ends the stream and the
 * visitor's connection instead; the next request on it gets no answer from that application.
 */
class UnaskedAnswersTest {
    private static final String EVIL = "<script>EVIL</script>";

    /** Answers each connection's first request with {@code answer}, then holds it open. */
    private static ServerSocket app(String answer) throws IOException {
        ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t =
                new Thread(
                        () -> {
                            while (!ss.isClosed()) {
                                try {
                                    Socket s = ss.accept();
                                    Thread th = new Thread(() -> serve(s, answer));
                                    th.setDaemon(true);
                                    th.start();
                                } catch (IOException e) {
                                    return;
                                }
                            }
                        });
        t.setDaemon(true);
        t.start();
        return ss;
    }

    private static void serve(Socket s, String answer) {
        try (s) {
            InputStream in = s.getInputStream();
            // the head of the first request
            int state = 0;
            while (state < 4) {
                int b = in.read();
                if (b < 0) return;
                state = (b == '\r' || b == '\n') ? state + 1 : 0;
            }
            OutputStream out = s.getOutputStream();
            out.write(answer.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // the gateway ended it
        }
    }

    /** {@code app} shared publicly as {@code name}: the Host its visitors send. */
    private static String sharePublic(GatewayLab lab, ServerSocket app, String name)
            throws Exception {
        lab.share(
                List.of(new InetSocketAddress("127.0.0.1", app.getLocalPort())),
                name,
                new Sharer.PublicWeb(null));
        return lab.host(lab.label(name));
    }

    private static String ok(String body) {
        return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
    }

    @Test
    void anExtraAnswerEndsTheVisitorsConnection() throws Exception {
        checkExtra("GET", ok("first") + ok(EVIL));
    }

    @Test
    void aBodyAfterAHeadAnswerIsAnExtraAnswer() throws Exception {
        String evil = ok(EVIL);
        checkExtra(
                "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: " + evil.length() + "\r\n\r\n" + evil);
    }

    @Test
    void informationalAnswersNobodyWaitsForEndTheConnectionToo() throws Exception {
        checkExtra(
                "GET", ok("first") + "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + ok(EVIL));
    }

    @Test
    void aSwitchNobodyAskedForIs502() throws Exception {
        try (GatewayLab lab = new GatewayLab();
                ServerSocket app =
                        app(
                                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\n"
                                        + "Connection: Upgrade\r\n\r\nRAW BYTES")) {
            String host = sharePublic(lab, app, "switcher");
            try (Socket s = lab.visit()) {
                s.getOutputStream().write(RawHttp.get("/", host));
                s.getOutputStream().flush();
                RawHttp.Response r = RawHttp.read(new BufferedInputStream(s.getInputStream()));
                assertEquals(502, r.status());
                assertTrue(!r.text().contains("RAW"), r.text());
            }
        }
    }

    @Test
    void bytesThatComeWithAnAskedFor101ReachTheVisitor() throws Exception {
        try (GatewayLab lab = new GatewayLab();
                ServerSocket app =
                        app(
                                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                        + "Connection: Upgrade\r\n\r\nFIRST RAW BYTES")) {
            String host = sharePublic(lab, app, "switcher");
            try (Socket s = lab.visit()) {
                s.getOutputStream()
                        .write(
                                ("GET /ws HTTP/1.1\r\nHost: "
                                                + host
                                                + "\r\nUpgrade: websocket\r\n"
                                                + "Connection: Upgrade\r\n\r\n")
                                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                InputStream in = new BufferedInputStream(s.getInputStream());
                assertEquals(101, RawHttp.readHead(in).status());
                byte[] want = "FIRST RAW BYTES".getBytes(StandardCharsets.US_ASCII);
                assertArrayEqualsRead(want, in);
            }
        }
    }

    private static void assertArrayEqualsRead(byte[] want, InputStream in) throws IOException {
        byte[] got = in.readNBytes(want.length);
        assertEquals(
                new String(want, StandardCharsets.US_ASCII),
                new String(got, StandardCharsets.US_ASCII));
    }

    private void checkExtra(String method, String answer) throws Exception {
        try (GatewayLab lab = new GatewayLab();
                ServerSocket app = app(answer)) {
            String host = sharePublic(lab, app, "smuggler");
            try (Socket s = lab.visit()) {
                OutputStream out = s.getOutputStream();
                InputStream in = new BufferedInputStream(s.getInputStream());
                out.write(
                        (method + " / HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                RawHttp.Response first =
                        method.equals("HEAD") ? RawHttp.readHead(in) : RawHttp.read(in);
                assertEquals(200, first.status());
                Thread.sleep(300); // the extra answer has reached the gateway
                try {
                    out.write(RawHttp.get("/next", host));
                    out.flush();
                } catch (IOException e) {
                    return; // already closed: nothing can be answered
                }
                byte[] rest = new byte[4096];
                int n;
                StringBuilder got = new StringBuilder();
                try {
                    while ((n = in.read(rest)) > 0)
                        got.append(new String(rest, 0, n, StandardCharsets.US_ASCII));
                } catch (IOException e) {
                    // reset: closed
                }
                assertTrue(!got.toString().contains("EVIL"), "the extra answer arrived: " + got);
                assertEquals("", got.toString(), "nothing answers the next request");
            }
        }
    }
}
