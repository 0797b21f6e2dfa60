package dev.appshare.wire.rendezvous;

import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;

/**
 * How a share proves that it owns its name: the name is held for a public key (REGISTER key=), and
 * the share signs the server's fresh challenge with that key (PROVE sig=). A squatter who knows the
 * name but not the key cannot take it over, and nothing secret crosses the wire.
 *
 * <pre>
 * key       := base64url(DER SubjectPublicKeyInfo), no padding; EC P-256 only; at most 200 chars
 * nonce     := 32 bytes from the server's SecureRandom, lower-case hex (64 chars)
 * signed    := UTF-8 "appshare-register-v2 " + nonce      (the context keeps this signature from
 *                                                          being mistaken for any other: TLS 1.3's
 *                                                          own signatures carry their own context)
 * sig       := base64url(SHA256withECDSA(signed)), DER, no padding
 * owner     := SHA-256(DER SubjectPublicKeyInfo), lower-case hex: the same fingerprint the key has
 *              in the tunnel's TLS
 * </pre>
 */
public final class RegistrationProof {
    private static final String CONTEXT = "appshare-register-v2 ";
    private static final ECParameterSpec P256 = p256();

    private RegistrationProof() {}

    /** A fresh challenge. */
    public static String nonce(SecureRandom random) {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** The REGISTER key= value for a public key. */
    public static String encodeKey(PublicKey key) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getEncoded());
    }

    /**
     * Parses a REGISTER key= value; it must be an EC P-256 public key, else a {@link
     * ProtocolException} (never another exception: the text comes from the network).
     */
    public static PublicKey decodeKey(String text) throws ProtocolException {
        if (text == null || !text.matches(RendezvousProtocol.KEY_PATTERN))
            throw new ProtocolException("malformed key");
        try {
            byte[] der = Base64.getUrlDecoder().decode(text);
            PublicKey k = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
            if (!(k instanceof ECPublicKey ec) || !isP256(ec.getParams()))
                throw new ProtocolException("the key is not EC P-256");
            return k;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new ProtocolException("malformed key");
        }
    }

    /** The PROVE sig= value: the share's signature over the challenge. */
    public static String sign(PrivateKey key, String nonce) {
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(signed(nonce));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign the rendezvous's challenge", e);
        }
    }

    /** Whether {@code sig} is {@code key}'s signature over the challenge {@code nonce}. */
    public static boolean verify(PublicKey key, String nonce, String sig) {
        if (sig == null || !sig.matches(RendezvousProtocol.SIG_PATTERN)) return false;
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initVerify(key);
            s.update(signed(nonce));
            return s.verify(Base64.getUrlDecoder().decode(sig));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false; // a malformed signature is simply not a proof
        }
    }

    /** SHA-256 over the DER SubjectPublicKeyInfo, lower-case hex (the key's fingerprint). */
    public static String fingerprint(PublicKey key) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(key.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] signed(String nonce) {
        return (CONTEXT + nonce).getBytes(StandardCharsets.UTF_8);
    }

    private static boolean isP256(ECParameterSpec p) {
        return p.getCurve().equals(P256.getCurve())
                && p.getGenerator().equals(P256.getGenerator())
                && p.getOrder().equals(P256.getOrder())
                && p.getCofactor() == P256.getCofactor();
    }

    private static ECParameterSpec p256() {
        try {
            AlgorithmParameters a = AlgorithmParameters.getInstance("EC");
            a.init(new ECGenParameterSpec("secp256r1"));
            return a.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
