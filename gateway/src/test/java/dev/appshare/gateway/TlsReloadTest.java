package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS on the gateway with real TLS clients on loopback: the certificate it serves is the one in
 * the files, a reload (what SIGHUP runs) makes new connections get the renewed one, a reload from
 * files that do not load keeps the old one, and plain HTTP beside HTTPS redirects with 308 to the
 * same path.
 */
class TlsReloadTest {
    @TempDir Path dir;

    @Test
    void aReloadServesTheRenewedCertificateAndABrokenOneKeepsTheOld() throws Exception {
        SelfSignedCertificate first = new SelfSignedCertificate("*.gw.test");
        SelfSignedCertificate second = new SelfSignedCertificate("*.gw.test");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Files.copy(first.certificate().toPath(), cert);
        Files.copy(first.privateKey().toPath(), key);
        EventLoopGroup group = EventLoops.newGroup(1);
        PublicGateway gateway = null;
        try {
            gateway =
                    PublicGateway.bind(
                            new PublicGateway.Options(
                                    new InetSocketAddress("127.0.0.1", 0),
                                    new InetSocketAddress("127.0.0.1", 0),
                                    "gw.test",
                                    cert,
                                    key),
                            group);
            assertEquals("https", gateway.urls().scheme(), "URLs are HTTPS when it listens");
            InetSocketAddress https = gateway.httpsAddress();
            assertArrayEquals(first.cert().getEncoded(), served(https, first, second));

            Files.copy(second.certificate().toPath(), cert, REPLACE);
            Files.copy(second.privateKey().toPath(), key, REPLACE);
            gateway.reloadTls();
            assertArrayEquals(
                    second.cert().getEncoded(),
                    served(https, first, second),
                    "a new connection after the reload gets the renewed certificate");

            Files.writeString(key, "not a key");
            gateway.reloadTls(); // logged, and the old context stays
            assertArrayEquals(second.cert().getEncoded(), served(https, first, second));
            assertThrows(
                    SSLException.class,
                    () -> new TlsFiles(cert, key),
                    "the broken files do not load on their own");

            String redirect = plainGet(gateway.httpAddress(), "abcdefghijkl.gw.test", "/a/b?c=1");
            assertTrue(redirect.startsWith("HTTP/1.1 308 "), redirect);
            assertTrue(
                    redirect.toLowerCase()
                            .contains(
                                    "location: https://abcdefghijkl.gw.test:"
                                            + https.getPort()
                                            + "/a/b?c=1"),
                    redirect);
            String bad = plainGet(gateway.httpAddress(), "127.0.0.1", "/");
            assertTrue(bad.startsWith("HTTP/1.1 400 "), "no redirect for a bad Host: " + bad);
            assertFalse(bad.toLowerCase().contains("location:"), bad);
        } finally {
            if (gateway != null) gateway.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            first.delete();
            second.delete();
        }
    }

    private static final java.nio.file.CopyOption REPLACE =
            java.nio.file.StandardCopyOption.REPLACE_EXISTING;

    /** The certificate a TLS handshake with {@code at} gets (trusting both test certificates). */
    private static byte[] served(
            InetSocketAddress at, SelfSignedCertificate a, SelfSignedCertificate b)
            throws Exception {
        SSLContext ctx = GatewayLab.trusting(a, b);
        try (SSLSocket s =
                (SSLSocket) ctx.getSocketFactory().createSocket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            Certificate[] chain = s.getSession().getPeerCertificates();
            return ((X509Certificate) chain[0]).getEncoded();
        }
    }

    private static String plainGet(InetSocketAddress at, String host, String path)
            throws Exception {
        try (java.net.Socket s = new java.net.Socket(at.getAddress(), at.getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(
                    ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
