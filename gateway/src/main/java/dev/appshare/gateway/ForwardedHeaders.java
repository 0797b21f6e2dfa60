package dev.appshare.gateway;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The three headers the gateway adds to each request it carries, replacing any the visitor sent (a
 * visitor could otherwise claim any address to an application that trusts them): {@code
 * X-Forwarded-For} the visitor's address, {@code X-Forwarded-Proto} {@code http} or {@code https}
 * as the visitor reached the gateway, {@code X-Forwarded-Host} the Host the visitor asked for.
 *
 * <p>Every other header a proxy might be believed about is dropped: {@code Forwarded} (RFC 7239)
 * and {@code Forwarded-For}, any other {@code X-Forwarded*} ({@code -Port}, {@code -Prefix}, {@code
 * -Ssl}, {@code X-Forwarded} itself...), the client-address headers of frameworks and CDNs ({@code
 * X-Real-IP}, {@code Client-IP}, {@code True-Client-IP}, {@code CF-Connecting-IP}...), and each of
 * these names spelt with {@code _} for {@code -} (a CGI or WSGI application folds {@code
 * X_Forwarded_For} into the same variable as {@code X-Forwarded-For}, ahead of the gateway's
 * value). Nothing else in a request is changed.
 */
final class ForwardedHeaders {
    static final String FOR = "X-Forwarded-For";
    static final String PROTO = "X-Forwarded-Proto";
    static final String HOST = "X-Forwarded-Host";

    private ForwardedHeaders() {}

    /** {@code visitor} null: not an IP connection (tests), sent as {@code unknown}. */
    static void replace(HttpHeaders h, InetAddress visitor, boolean https, String host) {
        dropNames(h, ForwardedHeaders::isProxyClaim);
        String address = visitor == null ? "unknown" : visitor.getHostAddress();
        int scope = address.indexOf('%');
        if (scope >= 0) address = address.substring(0, scope);
        h.set(FOR, address);
        h.set(PROTO, https ? "https" : "http");
        h.set(HOST, host);
    }

    /**
     * A chunked body's trailer is merged into the headers by some applications: it may not carry
     * what the gateway vouches for (the proxy claims above) nor another Host.
     */
    static void dropFromTrailers(LastHttpContent last) {
        HttpHeaders t = last.trailingHeaders();
        if (!t.isEmpty()) dropNames(t, n -> isProxyClaim(n) || n.equalsIgnoreCase("host"));
    }

    /**
     * Removes every header whose name {@code drop} matches (names gathered first: no removal while
     * iterating).
     */
    private static void dropNames(HttpHeaders h, java.util.function.Predicate<String> drop) {
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, String> e : h) if (drop.test(e.getKey())) names.add(e.getKey());
        for (String name : names) h.remove(name);
    }

    /** A header an application may take as a proxy's word about the client, in any spelling. */
    static boolean isProxyClaim(String name) {
        String n = name.toLowerCase(Locale.ROOT).replace('_', '-');
        return n.startsWith("x-forwarded") // X-Forwarded-For, -Proto, -Host, -Port, ... and itself
                || n.startsWith("forwarded") // RFC 7239's Forwarded, and Forwarded-For
                || CLIENT_ADDRESS_HEADERS.contains(n);
    }

    /** Headers frameworks and CDNs read the client's address from, besides X-Forwarded-For. */
    private static final java.util.Set<String> CLIENT_ADDRESS_HEADERS =
            java.util.Set.of(
                    "x-real-ip",
                    "client-ip",
                    "x-client-ip",
                    "true-client-ip",
                    "cf-connecting-ip",
                    "fastly-client-ip",
                    "x-cluster-client-ip");
}
