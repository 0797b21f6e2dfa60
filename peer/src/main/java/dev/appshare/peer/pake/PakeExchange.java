package dev.appshare.peer.pake;

import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Locale;
import org.bouncycastle.crypto.CryptoException;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKECurves;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKEParticipant;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound1Payload;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * One side of the PAKE that proves the code between a connector and a share: EC J-PAKE on P-256
 * (BouncyCastle's {@link ECJPAKEParticipant}) with its key confirmation, over the rendezvous (PAKE
 * messages). Both sides send step 1 at once, step 2 on the other's step 1, and step 3 (the key
 * confirmation tag) on the other's step 2; an exchange is confirmed when the other's step 3 checks.
 *
 * <p>The participant ids are {@code appshare/2 ROLE SESSION FINGERPRINT}: each side's role, the
 * session the rendezvous gave them, and the SHA-256 of its TLS key. J-PAKE binds every proof to its
 * sender's id and the confirmation tag covers both ids, so a confirmed exchange proves that the
 * other side knows the password and that its TLS key is the one in its id: the tunnel's QUIC
 * handshake then pins exactly that key. A rendezvous that substitutes keys or sessions, or sends a
 * connector to another share, cannot complete the exchange without the password; a passive observer
 * learns nothing that lets it test guesses offline (J-PAKE's property). Each exchange lets an
 * active attacker test one guess, which is why a share limits failed ones ({@link
 * #sentConfirmation}).
 */
public final class PakeExchange {
    public enum Role {
        CONNECTOR("connector"),
        SHARE("share");

        final String word;

        Role(String word) {
            this.word = word;
        }

        Role other() {
            return this == CONNECTOR ? SHARE : CONNECTOR;
        }
    }

    /** The exchange failed: a malformed or out-of-order message, or the code did not check. */
    public static final class FailedException extends Exception {
        private final boolean wrongCode;

        FailedException(String message, boolean wrongCode) {
            super(message);
            this.wrongCode = wrongCode;
        }

        /** The confirmation did not check: the other side does not know the same code. */
        public boolean wrongCode() {
            return wrongCode;
        }
    }

    /** What to do after a message: send {@code reply} as step {@code replyStep}, or done. */
    public record Next(int replyStep, byte[] reply, String peerFingerprint) {
        /** The exchange is confirmed: the other side knows the code and holds this TLS key. */
        public boolean confirmed() {
            return peerFingerprint != null;
        }
    }

    private static final String ID_PREFIX = "appshare/2 ";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final long createdNanos = System.nanoTime(); // before the participant below
    private final Role role;
    private final String session;
    private final ECJPAKEParticipant participant;
    // spent in this object: BouncyCastle's work (and its class loading, on a cold start)
    private long computeNanos;
    private int expected = 1; // the step to receive next; 4 when confirmed, 0 when failed
    private BigInteger keyingMaterial;
    private String peerFingerprint;

    public PakeExchange(Role role, String session, String fingerprint, String password) {
        if (!fingerprint.matches(RendezvousProtocol.FP_PATTERN)
                || !session.matches(RendezvousProtocol.SESSION_PATTERN))
            throw new IllegalArgumentException("bad fingerprint or session");
        this.role = role;
        this.session = session;
        this.participant =
                new ECJPAKEParticipant(
                        id(role, session, fingerprint),
                        password.toCharArray(),
                        ECJPAKECurves.NIST_P256,
                        new SHA256Digest(),
                        RANDOM);
        computeNanos = System.nanoTime() - createdNanos;
    }

    static String id(Role role, String session, String fingerprint) {
        return ID_PREFIX + role.word + " " + session + " " + fingerprint;
    }

    private static volatile boolean warm;

    /**
     * Runs one exchange between two local participants on a background thread, once per process:
     * the first exchange in a JVM costs a few hundred ms of class loading and interpretation
     * (BouncyCastle's EC arithmetic), which this moves off the connect path, in parallel with the
     * control connection being set up.
     */
    public static void warmUp() {
        if (warm) return;
        warm = true;
        Thread t =
                new Thread(
                        () -> {
                            try {
                                String fp = "0".repeat(64), session = "0".repeat(16);
                                PakeExchange a =
                                        new PakeExchange(Role.CONNECTOR, session, fp, "warm-up");
                                PakeExchange b =
                                        new PakeExchange(Role.SHARE, session, fp, "warm-up");
                                byte[] a1 = a.start(), b1 = b.start();
                                Next a2 = a.receive(1, b1), b2 = b.receive(1, a1);
                                Next a3 = a.receive(2, b2.reply()), b3 = b.receive(2, a2.reply());
                                a.receive(3, b3.reply());
                                b.receive(3, a3.reply());
                            } catch (FailedException | RuntimeException e) {
                                // only a warm-up: the real exchange reports its own failures
                            }
                        },
                        "appshare-pake-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    /** Step 1, to send at once. */
    public byte[] start() {
        long t0 = System.nanoTime();
        try {
            return PakeMessages.encode(participant.createRound1PayloadToSend());
        } finally {
            computeNanos += System.nanoTime() - t0;
        }
    }

    /** Nanoseconds since this exchange was created (for the log: the PAKE's cost to a connect). */
    public long elapsedNanos() {
        return System.nanoTime() - createdNanos;
    }

    /**
     * Nanoseconds this side spent computing the exchange so far (the rest waited for the other).
     */
    public long computeNanos() {
        return computeNanos;
    }

    /** "N ms (M ms of it computing here)" since creation, for a log line. */
    public String timing() {
        return String.format(
                Locale.ROOT,
                "%.1f ms (%.1f ms of it computing here)",
                elapsedNanos() / 1e6,
                computeNanos / 1e6);
    }

    /** Whether this side's step 3 went out: the other side has then had its one guess. */
    public boolean sentConfirmation() {
        return keyingMaterial != null;
    }

    /**
     * A 32-byte key both sides derive from the exchange once it is confirmed, which the rendezvous
     * never learns: HKDF-SHA256 (BouncyCastle's) of the J-PAKE keying material, salted with the
     * session id, for {@code purpose} (e.g. the birthday search's probes, BirthdayProbe).
     */
    public byte[] derivedKey(String purpose) {
        if (expected != 4) throw new IllegalStateException("the exchange is not confirmed");
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(
                new HKDFParameters(
                        keyingMaterial.toByteArray(),
                        session.getBytes(StandardCharsets.US_ASCII),
                        ("appshare " + purpose).getBytes(StandardCharsets.US_ASCII)));
        byte[] key = new byte[32];
        hkdf.generateBytes(key, 0, key.length);
        return key;
    }

    /** Takes the other side's step; any failure ends the exchange for good. */
    public Next receive(int step, byte[] data) throws FailedException {
        long t0 = System.nanoTime();
        try {
            return receiveTimed(step, data);
        } finally {
            computeNanos += System.nanoTime() - t0;
        }
    }

    private Next receiveTimed(int step, byte[] data) throws FailedException {
        if (expected == 0) throw new FailedException("the PAKE already failed", false);
        if (step != expected) {
            expected = 0;
            throw new FailedException("PAKE step " + step + " out of order", false);
        }
        try {
            switch (step) {
                case 1 -> {
                    ECJPAKERound1Payload p = PakeMessages.round1(data);
                    peerFingerprint = peerFingerprint(p.getParticipantId());
                    participant.validateRound1PayloadReceived(p);
                    expected = 2;
                    return new Next(
                            2, PakeMessages.encode(participant.createRound2PayloadToSend()), null);
                }
                case 2 -> {
                    participant.validateRound2PayloadReceived(PakeMessages.round2(data));
                    keyingMaterial = participant.calculateKeyingMaterial();
                    expected = 3;
                    return new Next(
                            3,
                            PakeMessages.encode(
                                    participant.createRound3PayloadToSend(keyingMaterial)),
                            null);
                }
                default -> {
                    try {
                        participant.validateRound3PayloadReceived(
                                PakeMessages.round3(data), keyingMaterial);
                    } catch (CryptoException e) {
                        expected = 0;
                        throw new FailedException(
                                "the other side did not prove the same code", true);
                    }
                    expected = 4;
                    return new Next(0, null, peerFingerprint);
                }
            }
        } catch (PakeMessages.MalformedException | CryptoException e) {
            expected = 0;
            throw new FailedException("bad PAKE step " + step + ": " + e.getMessage(), false);
        } catch (RuntimeException e) { // BouncyCastle's checks of points and states
            expected = 0;
            throw new FailedException("bad PAKE step " + step + ": " + e, false);
        }
    }

    /** The other side's TLS key fingerprint from its id, which must name the other role. */
    private String peerFingerprint(String id) throws PakeMessages.MalformedException {
        String[] f = id.split(" ", -1);
        if (f.length != 4
                || !(f[0] + " ").equals(ID_PREFIX)
                || !f[1].equals(role.other().word)
                || !f[2].equals(session)
                || !f[3].matches(RendezvousProtocol.FP_PATTERN))
            throw new PakeMessages.MalformedException(
                    "the other side's id is not a " + role.other().word + " in this session");
        return f[3];
    }
}
