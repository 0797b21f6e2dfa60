package dev.appshare.rendezvous;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * What the server tells a share that asks to be public (REGISTER {@code public=1}): where the HTTP
 * gateway listens and which key the gateway's tunnels present. Null in a server without a gateway.
 *
 * @param gatewayFingerprint SHA-256 (hex) of the gateway's TLS key: a public share accepts a
 *     gateway tunnel from that key only
 * @param scheme {@code http} or {@code https}: what the printed URL uses (https when the gateway
 *     has a certificate)
 * @param domain the gateway's domain: a share's URL is {@code SCHEME://LABEL.DOMAIN[:PORT]/}
 * @param port the port in the URL; the scheme's default is left out
 */
public record PublicUrls(String gatewayFingerprint, String scheme, String domain, int port) {
    private static final String BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

    public PublicUrls {
        domain = domain.toLowerCase(Locale.ROOT);
    }

    /** The URL of the share whose label is {@code label}. */
    public String url(String label) {
        boolean defaultPort =
                (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
        return scheme + "://" + label + "." + domain + (defaultPort ? "" : ":" + port) + "/";
    }

    /**
     * A share's label: the first 60 bits of SHA-256("appshare-label " + key fingerprint), in
     * base32. From the key, so a share keeps its URL across reconnects and server restarts (and
     * with a kept key, across its own); not from the name or code, so the URL gives no way to them.
     */
    public static String label(String ownerFingerprint) {
        byte[] h;
        try {
            h =
                    MessageDigest.getInstance("SHA-256")
                            .digest(
                                    ("appshare-label " + ownerFingerprint)
                                            .getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        StringBuilder b = new StringBuilder(12);
        long bits = 0;
        for (int i = 0; i < 8; i++) bits = (bits << 8) | (h[i] & 0xff);
        for (int i = 0; i < 12; i++) b.append(BASE32.charAt((int) ((bits >>> (59 - 5 * i)) & 31)));
        return b.toString();
    }
}
