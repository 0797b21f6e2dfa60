package dev.appshare.wire.rendezvous;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One control message: a type word and named fields, carried as one UTF-8 line {@code TYPE
 * key=value key=value}; values are percent-encoded (space, '=', '%' and control characters), keys
 * are [a-z0-9-]. The frame around it is {@link RendezvousFrames}. The message types are listed in
 * {@link RendezvousProtocol}.
 */
public final class RendezvousMessage {
    public static final int MAX_FIELDS = 32;

    private final String type;
    private final Map<String, String> fields;

    private RendezvousMessage(String type, Map<String, String> fields) {
        this.type = type;
        this.fields = fields;
    }

    public static RendezvousMessage of(String type, String... keyValues) {
        if (keyValues.length % 2 != 0) throw new IllegalArgumentException("odd key/value list");
        Map<String, String> f = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            if (keyValues[i + 1] != null) f.put(keyValues[i], keyValues[i + 1]);
        }
        return new RendezvousMessage(type, f);
    }

    public String type() {
        return type;
    }

    public String get(String key) {
        return fields.get(key);
    }

    /** A field that must be present; a missing one is the sender's protocol error. */
    public String require(String key) throws ProtocolException {
        String v = fields.get(key);
        if (v == null || v.isEmpty()) throw new ProtocolException(type + " without " + key);
        return v;
    }

    public Map<String, String> fields() {
        return Collections.unmodifiableMap(fields);
    }

    public String encode() {
        StringBuilder sb = new StringBuilder(type);
        for (Map.Entry<String, String> e : fields.entrySet()) {
            sb.append(' ').append(e.getKey()).append('=').append(escape(e.getValue()));
        }
        return sb.toString();
    }

    public static RendezvousMessage decode(String line) throws ProtocolException {
        String[] parts = line.split(" ", -1);
        String type = parts[0];
        if (!type.matches("[A-Z]{1,16}")) throw new ProtocolException("bad message type");
        if (parts.length - 1 > MAX_FIELDS) throw new ProtocolException("too many fields");
        Map<String, String> f = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq <= 0) throw new ProtocolException("bad field");
            String key = parts[i].substring(0, eq);
            if (!key.matches("[a-z0-9-]{1,32}")) throw new ProtocolException("bad field name");
            String raw = parts[i].substring(eq + 1);
            if (!canonical(raw)) throw new ProtocolException("unescaped character in " + key);
            f.put(key, unescape(raw));
        }
        return new RendezvousMessage(type, f);
    }

    /**
     * Whether a value as received holds only what {@link #encode} leaves as it is (besides {@code
     * %} escapes): a raw {@code =} or control character would be escaped, three bytes for one, when
     * the server passes the message on, so a SIGNAL that fitted its frame could no longer fit the
     * partner's (and was lost). Refused instead, a message's encoding is never longer than the line
     * it came in.
     */
    private static boolean canonical(String raw) {
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c < 0x20 || c == '=' || c == 0x7f) return false;
        }
        return true;
    }

    private static String escape(String v) {
        StringBuilder sb = new StringBuilder(v.length());
        for (byte b : v.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c <= 0x20 || c == '=' || c == '%' || c == 0x7f) {
                sb.append('%')
                        .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            } else {
                sb.append((char) c); // bytes >= 0x80 are re-joined below as UTF-8
            }
        }
        return new String(
                sb.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    private static String unescape(String v) throws ProtocolException {
        if (v.indexOf('%') < 0) return v;
        ByteArrayOutputStream out = new ByteArrayOutputStream(v.length());
        byte[] in = v.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '%') {
                if (i + 2 >= in.length) throw new ProtocolException("bad escape");
                int hi = Character.digit(in[i + 1], 16), lo = Character.digit(in[i + 2], 16);
                if (hi < 0 || lo < 0) throw new ProtocolException("bad escape");
                out.write(hi << 4 | lo);
                i += 2;
            } else {
                out.write(in[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return encode();
    }
}
