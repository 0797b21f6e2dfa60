package dev.appshare.gateway;

import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Which public share a request's {@code Host} names: {@code LABEL.DOMAIN}, with or without a port,
 * any letter case, an optional trailing dot. Anything else (no Host, an IP literal, another domain,
 * a deeper name, a label that cannot be one) is a bad Host: the gateway answers 400.
 */
final class HostLabel {
    /** Compiled once: this runs on every request a visitor sends. */
    private static final Pattern LABEL = Pattern.compile(RendezvousProtocol.LABEL_PATTERN);

    private HostLabel() {}

    /** The label {@code host} names under {@code domain} (lower case), or null. */
    static String of(String host, String domain) {
        if (host == null || host.isEmpty() || host.length() > 255) return null;
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) return null; // an IPv6 literal
        int colon = h.lastIndexOf(':');
        if (colon >= 0) {
            String port = h.substring(colon + 1);
            if (port.isEmpty() || port.length() > 5) return null;
            for (int i = 0; i < port.length(); i++)
                if (!Character.isDigit(port.charAt(i))) return null;
            h = h.substring(0, colon);
        }
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        String suffix = "." + domain;
        if (!h.endsWith(suffix)) return null;
        String label = h.substring(0, h.length() - suffix.length());
        return LABEL.matcher(label).matches() ? label : null;
    }
}
