package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.wire.tunnel.PausedStreams;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.io.BufferedInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS visitors who stop reading, past the gateway's ceiling of paused streams: each is reset at
 * once, and its stream with it. (A plain close under TLS would first queue close_notify behind the
 * bytes the visitor does not take and wait 3 s for them, while the share kept sending.)
 */
class PausedVisitorsTest {
    @TempDir Path dir;

    @Test
    void httpsVisitorsPastTheCeilingAreResetAtOnceAndTheShareStillAnswers() throws Exception {
        SelfSignedCertificate cert = new SelfSignedCertificate("*." + GatewayLab.DOMAIN);
        try (GatewayLab lab = GatewayLab.https(dir, cert)) {
            // One paused visitor is fine, two are the ceiling: a third one paused for 200 ms is
            // reset; the budget's rule waits ten minutes, so only the ceiling acts.
            lab.gateway.pausedStreams(1, 2, TimeUnit.MINUTES.toNanos(10), 200_000_000L);
            Origin origin = lab.origin("app");
            lab.sharePublic(origin, "web-app");
            InetSocketAddress at = lab.gateway.httpsAddress();
            String host = lab.label("web-app") + "." + GatewayLab.DOMAIN + ":" + at.getPort();
            SSLContext tls = GatewayLab.trusting(cert);
            List<Socket> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
                    s.setReceiveBufferSize(4096);
                    s.connect(at, 5_000);
                    stalled.add(s);
                    s.getOutputStream()
                            .write(
                                    RawHttp.get(
                                            "/download?n=" + PublicGatewayTest.BIG + "&seed=" + i,
                                            host));
                    s.getOutputStream().flush();
                }
                PausedStreams paused = lab.gateway.pausedStreams();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (paused.resets() < 2 && System.nanoTime() < end) Thread.sleep(10);
                assertEquals(2, paused.resets(), "visitors reset past the ceiling");
                // The share ended those two answers within a second, not after TLS's 3 s wait.
                end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                while (origin.closed.get() < 2 && System.nanoTime() < end) Thread.sleep(10);
                assertEquals(2, origin.closed.get(), "answers the share ended");
                aNewVisitorGetsAWholeAnswer(tls, at, host);
            } finally {
                for (Socket s : stalled) s.close();
            }
        }
    }

    private static void aNewVisitorGetsAWholeAnswer(
            SSLContext tls, InetSocketAddress at, String host) throws Exception {
        try (Socket s = tls.getSocketFactory().createSocket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(RawHttp.get("/download?n=" + (1 << 20) + "&seed=5", host));
            s.getOutputStream().flush();
            MessageDigest md = Origin.sha256();
            PublicGatewayTest.CountingSink sink = new PublicGatewayTest.CountingSink(md);
            RawHttp.Response r = RawHttp.read(new BufferedInputStream(s.getInputStream()), sink);
            assertEquals(200, r.status());
            assertEquals(1 << 20, sink.count);
            assertEquals(Origin.digestOf(1 << 20, 5), HexFormat.of().formatHex(md.digest()));
        }
    }
}
