package dev.appshare.wire.fuzz;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;

/**
 * Keys and registration signatures that are the same on every run, so that a fuzz property's fixed
 * seed alone reproduces its inputs: the key pair and each ECDSA signature draw their randomness
 * from a SHA1PRNG seeded before first use (which makes it deterministic).
 */
public final class FuzzKeys {
    private FuzzKeys() {}

    /** An EC key pair on {@code curve} (e.g. secp256r1), the same for the same seed. */
    public static KeyPair keyPair(String curve, long seed) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(curve), random(seed));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The PROVE sig= value for {@code nonce}, as RegistrationProof.sign makes it
     * ("appshare-register-v2 " + nonce, SHA256withECDSA, base64url), but with a seeded nonce k: the
     * same on every run.
     */
    public static String sign(PrivateKey key, String nonce, long seed) {
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key, random(seed));
            s.update(("appshare-register-v2 " + nonce).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static SecureRandom random(long seed) throws GeneralSecurityException {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(seed); // before any output: the sequence is this seed's alone
        return r;
    }
}
