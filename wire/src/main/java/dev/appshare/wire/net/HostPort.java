package dev.appshare.wire.net;

import java.net.InetSocketAddress;

/** Parses and prints "host:port" and "[v6]:port" the way users type them. */
public final class HostPort {
    private HostPort() {}

    /**
     * A host name, an IPv4 literal or an IPv6 literal (with a zone): letters, digits and {@code
     * .-_:%} only. Whatever else a server names (a relay address from the rendezvous) is refused
     * here, so no line the user reads carries its control characters or terminal escapes.
     */
    private static boolean hostChars(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            boolean ok =
                    c >= 'a' && c <= 'z'
                            || c >= 'A' && c <= 'Z'
                            || c >= '0' && c <= '9'
                            || c == '.'
                            || c == '-'
                            || c == '_'
                            || c == ':'
                            || c == '%';
            if (!ok) return false;
        }
        return true;
    }

    public static InetSocketAddress parse(String raw, int defaultPort) {
        String text = NetworkText.printable(raw); // what error messages quote
        String s = raw.trim();
        String host;
        int port = defaultPort;
        if (s.startsWith("[")) {
            int end = s.indexOf(']');
            if (end < 0)
                throw new IllegalArgumentException("bad address '" + text + "': missing ']'");
            host = s.substring(1, end);
            String rest = s.substring(end + 1);
            if (rest.startsWith(":")) port = parsePort(rest.substring(1), text);
            else if (!rest.isEmpty())
                throw new IllegalArgumentException("bad address '" + text + "'");
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') == colon) {
                host = s.substring(0, colon);
                port = parsePort(s.substring(colon + 1), text);
            } else {
                host = s; // bare host, or a bare IPv6 literal
            }
        }
        if (host.isEmpty()) host = "0.0.0.0";
        if (!hostChars(host))
            throw new IllegalArgumentException("bad address '" + text + "': not a host name");
        if (port < 0) throw new IllegalArgumentException("bad address '" + text + "': no port");
        return InetSocketAddress.createUnresolved(host, port);
    }

    private static int parsePort(String p, String whole) {
        try {
            int port = Integer.parseInt(p);
            if (port < 0 || port > 65535) throw new NumberFormatException();
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad port in '" + whole + "': expected 0-65535");
        }
    }

    /**
     * Resolves an unresolved address, so binds see a real one. Blocking: not on an event loop (use
     * {@link Resolver#resolve} there).
     */
    public static InetSocketAddress resolved(InetSocketAddress a) {
        return a.isUnresolved() ? new InetSocketAddress(a.getHostString(), a.getPort()) : a;
    }

    /** As {@link #format}, but always the numeric address, never a host name. */
    public static String literal(InetSocketAddress a) {
        if (a.getAddress() == null) return format(a);
        String h = a.getAddress().getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    public static String format(InetSocketAddress a) {
        String h = a.getHostString();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
    }
}
