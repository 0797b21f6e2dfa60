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
    void httpsVisitorsAndIpv6AddressesWithoutTheirScope() throws Exception {
        HttpHeaders h = new DefaultHttpHeaders();
        ForwardedHeaders.replace(h, InetAddress.getByName("fe80::1%1"), true, "x.localhost");
        assertEquals(List.of("fe80:0:0:0:0:0:0:1"), h.getAll("X-Forwarded-For"));
        assertEquals(List.of("https"), h.getAll("X-Forwarded-Proto"));
        assertEquals(List.of("x.localhost"), h.getAll("X-Forwarded-Host"));
    }
}
