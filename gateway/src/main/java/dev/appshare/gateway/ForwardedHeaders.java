package dev.appshare.gateway;

import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetAddress;

/**
 * The three headers the gateway adds to each request it carries, replacing any the visitor sent (a
 * visitor could otherwise claim any address to an application that trusts them): {@code
 * X-Forwarded-For} the visitor's address, {@code X-Forwarded-Proto} {@code http} or {@code https}
 * as the visitor reached the gateway, {@code X-Forwarded-Host} the Host the visitor asked for.
 * Nothing else in a request is changed.
 */
final class ForwardedHeaders {
    static final String FOR = "X-Forwarded-For";
    static final String PROTO = "X-Forwarded-Proto";
    static final String HOST = "X-Forwarded-Host";

    private ForwardedHeaders() {}

    /** {@code visitor} null: not an IP connection (tests), sent as {@code unknown}. */
    static void replace(HttpHeaders h, InetAddress visitor, boolean https, String host) {
        String address = visitor == null ? "unknown" : visitor.getHostAddress();
        int scope = address.indexOf('%');
        if (scope >= 0) address = address.substring(0, scope);
        h.set(FOR, address); // set() drops every earlier value of the name, any case
        h.set(PROTO, https ? "https" : "http");
        h.set(HOST, host);
    }
}
