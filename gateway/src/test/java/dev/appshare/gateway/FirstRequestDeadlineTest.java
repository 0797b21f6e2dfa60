package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Connections that never get to a request are closed after {@link
 * VisitorHandler#FIRST_REQUEST_MILLIS} wherever they come in, as HTTP/1.1 visitors were: a trickled
 * head at the plain-HTTP listener that only redirects to HTTPS (it had no deadline at all), and an
 * HTTP/2 connection that opens no stream (kept 120 s, for ever with PINGs). Both run at once; each
 * must be closed well before the idle limit.
 */
class FirstRequestDeadlineTest {
    @TempDir Path dir;

    @Test
    void aTrickledRedirectAndAnHttp2ConnectionWithoutStreamsAreClosed() throws Exception {
        SelfSignedCertificate cert = new SelfSignedCertificate("*." + GatewayLab.DOMAIN);
        try (GatewayLab lab = GatewayLab.https(dir, cert)) {
            long started = System.nanoTime();
            CompletableFuture<Long> redirect =
                    CompletableFuture.supplyAsync(
                            () ->
                                    closedAfter(
                                            plain(lab.gateway.httpAddress()),
                                            "GET / HTTP/1.1\r\nHo"));
            CompletableFuture<Long> h2 =
                    CompletableFuture.supplyAsync(
                            () -> closedAfter(h2(cert, lab.gateway.httpsAddress()), null));
            for (CompletableFuture<Long> f : java.util.List.of(redirect, h2)) {
                long ms = f.get(40, TimeUnit.SECONDS);
                assertTrue(
                        ms >= VisitorHandler.FIRST_REQUEST_MILLIS - 1_000
                                && ms < VisitorHandler.FIRST_REQUEST_MILLIS + 8_000,
                        "closed after " + ms + " ms");
            }
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(40));
        }
    }

    private static Socket plain(InetSocketAddress at) {
        try {
            Socket s = new Socket();
            s.connect(at, 5_000);
            return s;
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** A TLS connection that negotiated h2 and sent nothing after the handshake. */
    private static Socket h2(SelfSignedCertificate cert, InetSocketAddress at) {
        try {
            SSLContext ctx = GatewayLab.trusting(cert);
            SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
            SSLParameters p = s.getSSLParameters();
            p.setApplicationProtocols(new String[] {"h2"});
            s.setSSLParameters(p);
            s.connect(at, 5_000);
            s.startHandshake();
            assertEquals("h2", s.getApplicationProtocol());
            return s;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    /** Sends {@code start} (if any), then reads until the gateway closes; the time that took. */
    private static long closedAfter(Socket s, String start) {
        long t0 = System.nanoTime();
        try (s) {
            s.setSoTimeout(30_000);
            if (start != null) s.getOutputStream().write(start.getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {} // an HTTP/2 server's SETTINGS, then the end
        } catch (IOException closedOrReset) {
            // the end too
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }
}
