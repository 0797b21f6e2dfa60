package dev.appshare.peer.doctor;

import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code appshare doctor}'s output: a few aligned lines for a person, ending with the verdict, or
 * one JSON object for a script (field names in docs/architecture.md's contracts: {@code nat} is the
 * lab's word, see {@link NatType}).
 */
public final class DoctorReport {
    private DoctorReport() {}

    /** The lines a person reads, the verdict last. */
    public static List<String> text(Findings f) {
        List<String> out = new ArrayList<>();
        out.add("appshare doctor: " + f.server());
        ServerHello.Welcome w = f.rendezvous();
        row(
                out,
                "rendezvous",
                w == null
                        ? "unreachable: " + f.rendezvousError()
                        : "reachable over TCP, protocol "
                                + w.version()
                                + ", round trip "
                                + ms(f.rendezvousRttMillis())
                                + " (TCP connect)");
        row(
                out,
                "relay",
                f.relayConnectMillis() != null
                        ? HostPort.format(f.relayAddress())
                                + " reachable over TCP (connect "
                                + ms(f.relayConnectMillis())
                                + ")"
                        : (f.relayAddress() == null ? "" : HostPort.format(f.relayAddress()) + " ")
                                + "unreachable: "
                                + f.relayError());
        if (f.mapped() == null) {
            row(out, "UDP", "no answer from the server's STUN port: blocked on this network?");
        } else {
            row(out, "UDP", "answered, round trip " + ms(f.stunMillis()));
            Boolean kept = f.portPreserved();
            row(
                    out,
                    "public address",
                    HostPort.format(f.mapped())
                            + (f.publicAddress()
                                    ? " (this host's own: no NAT)"
                                    : " (local port "
                                            + f.localPort()
                                            + (Boolean.TRUE.equals(kept)
                                                    ? ": preserved)"
                                                    : ": not preserved)")));
            row(out, "mapping", mappingText(f));
            row(out, "filtering", filteringText(f));
            row(
                    out,
                    "hairpinning",
                    f.hairpin() == null
                            ? "not applicable (no NAT)"
                            : f.hairpin()
                                    ? "yes: a datagram to our own public address came back"
                                    : "no: a datagram to our own public address did not come"
                                            + " back");
            row(
                    out,
                    "largest payload",
                    f.largestPayload() == 0
                            ? "none of " + payloadRange(f) + " bytes passed"
                            : f.largestPayload()
                                    + " bytes passed both ways (tried "
                                    + payloadRange(f)
                                    + ")");
        }
        row(out, "IPv6", ipv6Text(f));
        row(out, "NAT type", f.natType().word());
        out.add("Verdict: " + Verdict.of(f));
        return out;
    }

    private static String mappingText(Findings f) {
        if (f.publicAddress()) return "none (no NAT)";
        if (f.mappedViaAlt() == null)
            return "not known: the second STUN port"
                    + (f.altPort() > 0 ? " (" + f.altPort() + ")" : "")
                    + " did not answer";
        return f.mapped().equals(f.mappedViaAlt())
                ? "endpoint-independent: ports "
                        + port(f)
                        + " and "
                        + f.altPort()
                        + " saw the same address"
                : "varies by destination: port "
                        + f.altPort()
                        + " saw "
                        + HostPort.format(f.mappedViaAlt());
    }

    private static String filteringText(Findings f) {
        if (f.filteringOpen() == null)
            return "not known (the server did not answer from its other port)";
        return f.filteringOpen()
                ? "open: an answer from a port never sent to got in"
                : "port-dependent: an answer from a port never sent to was dropped";
    }

    private static String ipv6Text(Findings f) {
        String local =
                f.ipv6Addresses().isEmpty()
                        ? "no global address"
                        : "global address " + String.join(", ", f.ipv6Addresses());
        if (f.ipv6Mapped() != null)
            return local + "; the server saw " + HostPort.format(f.ipv6Mapped());
        return local + (f.ipv6Note() == null ? "" : "; " + f.ipv6Note());
    }

    private static int port(Findings f) {
        String s = f.server();
        return Integer.parseInt(s.substring(s.lastIndexOf(':') + 1));
    }

    private static String payloadRange(Findings f) {
        List<Integer> t = f.triedPayloads();
        return t.get(0) + ".." + t.get(t.size() - 1);
    }

    private static void row(List<String> out, String name, String value) {
        out.add(String.format(Locale.ROOT, "  %-16s %s", name, value));
    }

    private static String ms(Double millis) {
        return millis == null ? "?" : String.format(Locale.ROOT, "%.1f ms", millis);
    }

    /** One JSON object, on one line. */
    public static String json(Findings f) {
        Json j = new Json();
        j.field("server", f.server());
        j.field("reachable", f.serverReachable());
        j.field("nat", f.natType().word());
        j.field("verdict", Verdict.of(f));
        ServerHello.Welcome w = f.rendezvous();
        j.field("rendezvous_error", f.rendezvousError());
        j.field("protocol", w == null ? null : w.version());
        j.number("rendezvous_rtt_ms", f.rendezvousRttMillis());
        j.field("relay", f.relayAddress() == null ? null : HostPort.format(f.relayAddress()));
        j.field("relay_reachable", f.relayConnectMillis() != null);
        j.field("relay_error", f.relayError());
        j.number("relay_connect_ms", f.relayConnectMillis());
        j.field("udp", f.mapped() != null);
        j.number("stun_rtt_ms", f.stunMillis());
        j.field("mapped", address(f.mapped()));
        j.field("mapped_via_alt", address(f.mappedViaAlt()));
        j.number("alt_port", f.altPort() > 0 ? (double) f.altPort() : null);
        j.number("local_port", f.mapped() == null ? null : (double) f.localPort());
        j.field("public_address", f.publicAddress());
        j.field(
                "mapping",
                f.mapped() == null || f.mappedViaAlt() == null
                        ? null
                        : f.publicAddress()
                                ? "none"
                                : f.mapped().equals(f.mappedViaAlt())
                                        ? "endpoint-independent"
                                        : "per-destination");
        j.field(
                "filtering",
                f.filteringOpen() == null ? null : f.filteringOpen() ? "open" : "port-dependent");
        j.field("port_preserved", f.portPreserved());
        j.field("hairpin", f.hairpin());
        j.number("max_udp_payload", f.mapped() == null ? null : (double) f.largestPayload());
        j.raw("ipv6_addresses", Json.strings(f.ipv6Addresses()));
        j.field("ipv6_mapped", address(f.ipv6Mapped()));
        return j.close();
    }

    private static String address(InetSocketAddress a) {
        return a == null ? null : HostPort.format(a);
    }

    /** A flat JSON object written field by field (strings escaped per RFC 8259). */
    private static final class Json {
        private final StringBuilder sb = new StringBuilder("{");

        void field(String name, String value) {
            raw(name, value == null ? "null" : quote(value));
        }

        void field(String name, Boolean value) {
            raw(name, String.valueOf(value));
        }

        void number(String name, Double value) {
            raw(
                    name,
                    value == null
                            ? "null"
                            : value == Math.rint(value)
                                    ? String.valueOf(value.longValue())
                                    : String.format(Locale.ROOT, "%.3f", value));
        }

        void raw(String name, String json) {
            if (sb.length() > 1) sb.append(',');
            sb.append(quote(name)).append(':').append(json);
        }

        String close() {
            return sb.append('}').toString();
        }

        static String strings(List<String> values) {
            List<String> q = new ArrayList<>();
            for (String v : values) q.add(quote(v));
            return "[" + String.join(",", q) + "]";
        }

        static String quote(String s) {
            StringBuilder q = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> q.append("\\\"");
                    case '\\' -> q.append("\\\\");
                    case '\n' -> q.append("\\n");
                    case '\r' -> q.append("\\r");
                    case '\t' -> q.append("\\t");
                    default -> {
                        if (c < 0x20) q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        else q.append(c);
                    }
                }
            }
            return q.append('"').toString();
        }
    }
}
