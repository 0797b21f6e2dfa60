package dev.appshare.wire.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The public gateway's basic auth, as both ends agree on it: a share sends the server only the
 * SHA-256 of {@code user:password} (REGISTER {@code auth=}, base64url without padding), and the
 * gateway hashes what a visitor's {@code Authorization: Basic} header carries and compares the two
 * digests in constant time ({@link MessageDigest#isEqual}), so neither the time it takes nor the
 * server's memory gives the password away.
 */
public final class BasicAuth {
    private BasicAuth() {}

    /** base64url (no padding) SHA-256 of {@code userColonPassword}'s UTF-8 bytes. */
    public static String hash(String userColonPassword) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(sha256(userColonPassword.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Whether the {@code Authorization} header value {@code header} (may be null) carries the
     * credentials whose {@link #hash} is {@code expected}.
     */
    public static boolean matches(String header, String expected) {
        byte[] want;
        try {
            want = Base64.getUrlDecoder().decode(expected);
        } catch (IllegalArgumentException e) {
            return false;
        }
        byte[] given = new byte[0];
        if (header != null && header.regionMatches(true, 0, "Basic ", 0, 6)) {
            try {
                given = Base64.getDecoder().decode(header.substring(6).trim());
            } catch (IllegalArgumentException e) {
                given = new byte[0];
            }
        }
        // Hashed whatever came, so a missing or malformed header takes as long as a wrong one.
        return MessageDigest.isEqual(sha256(given), want);
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
