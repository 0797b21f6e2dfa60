package dev.appshare.wire.rendezvous;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.FuzzKeys;
import dev.appshare.wire.fuzz.Fuzzing;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.util.Base64;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link RegistrationProof#decodeKey} and {@link RegistrationProof#verify} on what a REGISTER's
 * key= and a PROVE's sig= may carry from the network: random text, random base64url, and valid keys
 * and signatures mutated both as text and as DER (so that most inputs reach the DER and EC
 * parsers). 100,000 inputs each, fixed seeds; the keys and signatures are seeded too ({@link
 * FuzzKeys}).
 */
class RegistrationProofFuzz {
    static final KeyPair KEY = FuzzKeys.keyPair("secp256r1", 11);
    static final KeyPair OTHER = FuzzKeys.keyPair("secp256r1", 12);
    static final KeyPair P384 = FuzzKeys.keyPair("secp384r1", 13);
    static final String NONCE = "5a".repeat(32);
    static final String SIG = FuzzKeys.sign(KEY.getPrivate(), NONCE, 14);
    static final byte[] SIG_DER = Base64.getUrlDecoder().decode(SIG);
    static final String ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /**
     * A key text either decodes to an EC P-256 public key, which encodes back to a text that
     * decodes to the same key (the same fingerprint, so the same owner), or is refused with a
     * {@link ProtocolException}: nothing else escapes.
     */
    @Property(tries = 100_000, seed = "9601", generation = GenerationMode.RANDOMIZED)
    void aKeyTextIsAP256KeyOrAProtocolError(@ForAll("keyTexts") String text) {
        PublicKey k;
        try {
            k = RegistrationProof.decodeKey(text);
        } catch (ProtocolException refused) {
            return;
        }
        ECPublicKey ec = assertInstanceOf(ECPublicKey.class, k);
        assertEquals(256, ec.getParams().getCurve().getField().getFieldSize(), text);
        PublicKey again = decodeUnchecked(RegistrationProof.encodeKey(k));
        assertEquals(((ECPublicKey) again).getW(), ec.getW());
        assertEquals(RegistrationProof.fingerprint(k), RegistrationProof.fingerprint(again));
        if (ec.getW().equals(((ECPublicKey) KEY.getPublic()).getW())) {
            assertEquals(
                    RegistrationProof.fingerprint(KEY.getPublic()),
                    RegistrationProof.fingerprint(k),
                    "the same key, another encoding: another owner " + text);
        }
    }

    /**
     * A signature text is never accepted but for the signature made over this very challenge (the
     * same DER bytes), never for another challenge or key, and nothing throws.
     */
    @Property(tries = 100_000, seed = "9602", generation = GenerationMode.RANDOMIZED)
    void onlyTheSignatureOverThisChallengeVerifies(
            @ForAll("sigTexts") String sig, @ForAll("nonces") String nonce) {
        if (RegistrationProof.verify(KEY.getPublic(), nonce, sig)) {
            assertEquals(NONCE, nonce, "a signature over another challenge");
            assertArrayEquals(SIG_DER, Base64.getUrlDecoder().decode(sig), "another signature");
            assertFalse(RegistrationProof.verify(OTHER.getPublic(), nonce, sig), "another key");
        }
    }

    @Property(tries = 1, seed = "9603")
    void theFixturesAreWhatTheySeemToBe() throws Exception {
        assertTrue(RegistrationProof.verify(KEY.getPublic(), NONCE, SIG));
        String signed = RegistrationProof.sign(KEY.getPrivate(), NONCE);
        assertTrue(RegistrationProof.verify(KEY.getPublic(), NONCE, signed));
        assertEquals(
                KEY.getPublic(), decodeUnchecked(RegistrationProof.encodeKey(KEY.getPublic())));
        try {
            RegistrationProof.decodeKey(b64(P384.getPublic().getEncoded()));
            throw new AssertionError("a P-384 key was taken");
        } catch (ProtocolException expected) {
            // right
        }
    }

    @Provide
    Arbitrary<String> keyTexts() {
        byte[] der = KEY.getPublic().getEncoded();
        String text = b64(der);
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(220),
                Arbitraries.strings().withChars(ALPHABET + "+/=.").ofMinLength(36).ofMaxLength(210),
                Arbitraries.bytes()
                        .array(byte[].class)
                        .ofMinSize(28)
                        .ofMaxSize(150)
                        .map(b -> b64(b)),
                // DER-level mutations: most still base64 to a text the pattern lets through
                Fuzzing.validOrMutated(Arbitraries.just(der)).map(RegistrationProofFuzz::b64),
                Fuzzing.mutationsOf(Arbitraries.just(P384.getPublic().getEncoded()))
                        .map(RegistrationProofFuzz::b64),
                Fuzzing.mutationsOf(Arbitraries.of(otherKeyTypes()))
                        .map(RegistrationProofFuzz::b64),
                Fuzzing.mutationsOf(Arbitraries.just(text.getBytes(StandardCharsets.US_ASCII)))
                        .map(b -> new String(b, StandardCharsets.ISO_8859_1)));
    }

    @Provide
    Arbitrary<String> sigTexts() {
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(140),
                Arbitraries.strings().withChars(ALPHABET + "+/=").ofMinLength(6).ofMaxLength(130),
                Arbitraries.bytes().array(byte[].class).ofMinSize(6).ofMaxSize(96).map(b -> b64(b)),
                Fuzzing.validOrMutated(Arbitraries.just(SIG_DER)).map(RegistrationProofFuzz::b64),
                Fuzzing.mutationsOf(Arbitraries.just(SIG.getBytes(StandardCharsets.US_ASCII)))
                        .map(b -> new String(b, StandardCharsets.ISO_8859_1)));
    }

    @Provide
    Arbitrary<String> nonces() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.just(NONCE)),
                net.jqwik.api.Tuple.of(
                        1,
                        Fuzzing.mutationsOf(
                                        Arbitraries.just(NONCE.getBytes(StandardCharsets.US_ASCII)))
                                .map(b -> new String(b, StandardCharsets.ISO_8859_1))),
                net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMaxLength(70)));
    }

    /** Public keys of other types and curves, DER SubjectPublicKeyInfo. */
    private static byte[][] otherKeyTypes() {
        try {
            KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
            rsa.initialize(512, seeded(15));
            KeyPairGenerator ed = KeyPairGenerator.getInstance("Ed25519");
            ed.initialize(255, seeded(16));
            KeyPairGenerator x = KeyPairGenerator.getInstance("X25519");
            x.initialize(255, seeded(17));
            return new byte[][] {
                rsa.generateKeyPair().getPublic().getEncoded(),
                ed.generateKeyPair().getPublic().getEncoded(),
                x.generateKeyPair().getPublic().getEncoded(),
                P384.getPublic().getEncoded()
            };
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static SecureRandom seeded(long seed) throws Exception {
        SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
        r.setSeed(seed);
        return r;
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static PublicKey decodeUnchecked(String text) {
        try {
            return RegistrationProof.decodeKey(text);
        } catch (ProtocolException e) {
            throw new AssertionError("a key's own encoding was refused: " + text, e);
        }
    }
}
