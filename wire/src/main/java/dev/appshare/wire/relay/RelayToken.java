package dev.appshare.wire.relay;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One-time relay tokens, minted by the rendezvous and checked by the relay without any shared state
 * but a secret: {@code base64url(expiry u64 | nonce 16 bytes | HMAC-SHA256(secret,
 * expiry|nonce)[0..16])}. Stateless checking lets a relay run on another host; single use is
 * enforced by the relay's {@link PairingTable}, which remembers a token until it expires.
 */
public final class RelayToken {
    static final int BODY = 8 + 16;
    static final int MAC = 16;

    /** The longest token text we accept, so a pairing line has a hard bound. */
    public static final int MAX_TEXT = 64;

    private final byte[] secret;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public RelayToken(byte[] secret, Clock clock) {
        if (secret.length < 16)
            throw new IllegalArgumentException("relay secret must be at least 16 bytes");
        this.secret = secret.clone();
        this.clock = clock;
    }

    public static byte[] randomSecret() {
        byte[] s = new byte[32];
        new SecureRandom().nextBytes(s);
        return s;
    }

    public static byte[] secretFromText(String text) {
        return text.trim().getBytes(StandardCharsets.UTF_8);
    }

    public String mint(long lifetimeMillis) {
        ByteBuffer body = ByteBuffer.allocate(BODY + MAC);
        body.putLong(clock.millis() + lifetimeMillis);
        byte[] nonce = new byte[16];
        random.nextBytes(nonce);
        body.put(nonce);
        body.put(mac(body.array(), BODY), 0, MAC);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(body.array());
    }

    /**
     * Whether {@code text} has a token's form (base64url, 1 to {@value #MAX_TEXT} characters): what
     * a peer checks before it writes a token the rendezvous gave it into a pairing line, so that a
     * malicious rendezvous cannot make it send anything else (line breaks and a protocol of its
     * choosing) to an address of its choosing.
     */
    public static boolean wellFormed(String text) {
        if (text == null || text.isEmpty() || text.length() > MAX_TEXT) return false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean ok =
                    c >= 'A' && c <= 'Z'
                            || c >= 'a' && c <= 'z'
                            || c >= '0' && c <= '9'
                            || c == '-'
                            || c == '_';
            if (!ok) return false;
        }
        return true;
    }

    /** Returns the token's expiry in epoch millis, or -1 if it is malformed, forged or expired. */
    public long check(String text) {
        if (text.length() > MAX_TEXT) return -1;
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            return -1;
        }
        if (raw.length != BODY + MAC) return -1;
        // One token, one spelling: base64 admits several texts for the same bytes, and the pairing
        // table keys on the text, so anything but the canonical form would pair again.
        if (!Base64.getUrlEncoder().withoutPadding().encodeToString(raw).equals(text)) return -1;
        byte[] expected = mac(raw, BODY);
        byte[] given = new byte[MAC];
        System.arraycopy(raw, BODY, given, 0, MAC);
        byte[] want = new byte[MAC];
        System.arraycopy(expected, 0, want, 0, MAC);
        if (!MessageDigest.isEqual(want, given)) return -1;
        long expiry = ByteBuffer.wrap(raw, 0, 8).getLong();
        return expiry > clock.millis() ? expiry : -1;
    }

    private byte[] mac(byte[] data, int len) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(secret, "HmacSHA256"));
            m.update(data, 0, len);
            return m.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
