package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class ForwardedHeadersTest {
    @Test
    void whatTheVisitorSentIsReplacedByOneOfEach() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Host", "abcdefgh2345.localhost:8080");
        h.add("X-Forwarded-For", "6.6.6.6");
        h.add("x-forwarded-for", "7.7.7.7, 8.8.8.8");
        h.add("X-FORWARDED-PROTO", "https");
        h.add("X-Forwarded-Host", "evil.example");
        h.add("X-Forwarded-Host", "evil2.example");
        h.add("X-Other", "a");
        h.add("X-Other", "b");
        ForwardedHeaders.replace(
                h, InetAddress.getByName("192.0.2.7"), false, "abcdefgh2345.localhost:8080");
        assertEquals(List.of("192.0.2.7"), h.getAll("X-Forwarded-For"));
        assertEquals(List.of("http"), h.getAll("X-Forwarded-Proto"));
        assertEquals(List.of("abcdefgh2345.localhost:8080"), h.getAll("X-Forwarded-Host"));
        assertEquals(List.of("a", "b"), h.getAll("X-Other"), "nothing else changes");
        assertEquals(List.of("abcdefgh2345.localhost:8080"), h.getAll("Host"));
        assertEquals(6, h.size(), "Host, two X-Other, one of each X-Forwarded-*");
    }

    @Test
    void everyOtherProxyClaimIsDroppedInAnySpelling() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("X_Forwarded_For", "6.6.6.6"); // a WSGI app would read it as X-Forwarded-For
        h.add("Forwarded", "for=6.6.6.6;proto=https");
        h.add("X-Forwarded-Port", "443");
        h.add("X-Forwarded-Prefix", "/admin");
        h.add("X-Forwarded-Ssl", "on");
        h.add("X-Real-IP", "6.6.6.6");
        h.add("x_real_ip", "6.6.6.6");
        h.add("X-Forwarded", "for=6.6.6.6"); // read by some libraries (request-ip)
        h.add("Client-IP", "6.6.6.6"); // PHP's HTTP_CLIENT_IP
        h.add("True-Client-IP", "6.6.6.6");
        h.add("CF_Connecting_IP", "6.6.6.6");
        h.add("X-Clientside", "x"); // not a proxy's word: kept
        ForwardedHeaders.replace(h, InetAddress.getByName("192.0.2.7"), false, "x.localhost");
        assertEquals(
                java.util.Set.of(
                        "X-Clientside", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"),
                h.names());
        assertEquals(List.of("192.0.2.7"), h.getAll("X-Forwarded-For"));
    }

    @Test
    void aTrailerCarriesNoProxyClaimNorHost() {
        io.netty.handler.codec.http.LastHttpContent last =
                new io.netty.handler.codec.http.DefaultLastHttpContent();
        last.trailingHeaders()
                .add("X-Forwarded-For", "6.6.6.6")
                .add("x_real_ip", "6.6.6.6")
                .add("Host", "other.localhost")
                .add("X-Checksum", "abc");
        ForwardedHeaders.dropFromTrailers(last);
        assertEquals(java.util.Set.of("X-Checksum"), last.trailingHeaders().names());
        last.release();
    }

    @Test
    void httpsVisitorsAndIpv6AddressesWithoutTheirScope() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders();
        ForwardedHeaders.replace(h, InetAddress.getByName("fe80::1%1"), true, "x.localhost");
        assertEquals(List.of("fe80:0:0:0:0:0:0:1"), h.getAll("X-Forwarded-For"));
        assertEquals(List.of("https"), h.getAll("X-Forwarded-Proto"));
        assertEquals(List.of("x.localhost"), h.getAll("X-Forwarded-Host"));
    }
}
