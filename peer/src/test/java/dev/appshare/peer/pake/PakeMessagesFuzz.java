package dev.appshare.peer.pake;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.appshare.peer.pake.PakeExchange.Next;
import dev.appshare.peer.pake.PakeExchange.Role;
import dev.appshare.wire.fuzz.Fuzzing;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound1Payload;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound2Payload;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound3Payload;

/**
 * The PAKE's messages as they come from the rendezvous, which may be anyone's: random bytes and
 * mutations of real step 1, 2 and 3 messages, fed to the parsers ({@link PakeMessages#round1},
 * round2, round3, and the data= text's {@link PakeMessages#bytes}) and to a live {@link
 * PakeExchange} at the step each message belongs to. Nothing but {@link
 * PakeMessages.MalformedException} or {@link PakeExchange.FailedException} may come out, and a
 * mutated message never leads to a confirmed exchange (unless it decodes to exactly the values of
 * the real one: the wire form admits a point compressed or not and a scalar with leading zeros).
 * Seeded; 100,000 parser inputs and 1,000 exchanges (each costs a real EC J-PAKE up to the step
 * under test, a few ms).
 */
class PakeMessagesFuzz {
    static final String SESSION = "3f9c0a7be21d4c58";
    static final String FP_C = "c".repeat(64), FP_S = "5".repeat(64);
    static final String PASSWORD = "cheerful-beaver";

    /** Real messages of a few honest exchanges: each step, both roles. */
    static final List<byte[]> REAL = realMessages(3);

    static List<byte[]> realMessages(int runs) {
        List<byte[]> out = new ArrayList<>();
        try {
            for (int i = 0; i < runs; i++) {
                Pair p = new Pair();
                p.upTo(4);
                out.addAll(p.sent);
            }
        } catch (PakeExchange.FailedException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /**
     * The parsers read anything without another exception, and whatever they accept encodes again
     * to a message they read as the same values.
     */
    @Property(tries = 100_000, seed = "20250611", generation = GenerationMode.RANDOMIZED)
    void theParsersOnlyRefuse(@ForAll("messages") byte[] in, @ForAll("texts") String text) {
        ECJPAKERound1Payload r1 = null;
        ECJPAKERound2Payload r2 = null;
        ECJPAKERound3Payload r3 = null;
        try {
            r1 = PakeMessages.round1(in);
        } catch (PakeMessages.MalformedException expected) {
            // refused
        }
        try {
            r2 = PakeMessages.round2(in);
        } catch (PakeMessages.MalformedException expected) {
            // refused
        }
        try {
            r3 = PakeMessages.round3(in);
        } catch (PakeMessages.MalformedException expected) {
            // refused
        }
        int accepted = (r1 != null ? 1 : 0) + (r2 != null ? 1 : 0) + (r3 != null ? 1 : 0);
        Statistics.label("read as")
                .collect(
                        r1 != null
                                ? "step 1"
                                : r2 != null ? "step 2" : r3 != null ? "step 3" : "refused");
        assertTrue(accepted <= 1, "one message read as two steps");
        try {
            if (r1 != null) assertSame1(r1, PakeMessages.round1(PakeMessages.encode(r1)));
            if (r2 != null) assertSame2(r2, PakeMessages.round2(PakeMessages.encode(r2)));
            if (r3 != null) assertSame3(r3, PakeMessages.round3(PakeMessages.encode(r3)));
        } catch (PakeMessages.MalformedException e) {
            fail("a message read once does not read again: " + e.getMessage());
        }
        try {
            byte[] b = PakeMessages.bytes(text);
            assertTrue(b.length <= RendezvousProtocol.MAX_PAKE_BYTES);
        } catch (PakeMessages.MalformedException expected) {
            // refused
        }
    }

    /**
     * An exchange run honestly up to {@code step}, then handed a mutated (or random) message for
     * that step: it fails with a FailedException, or it goes on, and then it never confirms unless
     * the message meant what the real one did.
     */
    @Property(tries = 1_000, seed = "20250612", generation = GenerationMode.RANDOMIZED)
    void anExchangeNeverConfirmsAMutatedStep(
            @ForAll @IntRange(min = 1, max = 3) int step,
            @ForAll boolean atShare,
            @ForAll long mutation,
            @ForAll("kinds") Kind kind)
            throws Exception {
        Pair p = new Pair();
        p.upTo(step); // both sides have received every step before this one
        PakeExchange receiver = atShare ? p.share : p.connector;
        byte[] real = atShare ? p.fromConnector(step) : p.fromShare(step);
        byte[] bad =
                switch (kind) {
                    case RANDOM -> randomBytes(new Random(mutation));
                    case REENCODED -> reencode(step, real, new Random(mutation));
                    case MUTATED -> Fuzzing.mutate(real, new Random(mutation));
                };
        Next next;
        try {
            next = receiver.receive(step, bad);
        } catch (PakeExchange.FailedException refused) {
            Statistics.label("step " + step).collect(kind + ", refused");
            assertTrue(kind != Kind.REENCODED, "the same values, written otherwise, refused");
            return;
        }
        // accepted: it must mean what the real message meant, or fail later
        boolean same = sameValues(step, real, bad);
        Statistics.label("step " + step)
                .collect(kind + (same ? ", accepted, same values" : ", accepted"));
        if (step == 3) {
            assertTrue(next.confirmed());
            assertTrue(same, "confirmed from a mutated step 3");
            return;
        }
        boolean confirmed;
        try {
            confirmed = p.finish(atShare, step, next);
        } catch (PakeExchange.FailedException e) {
            confirmed = false;
        }
        if (confirmed) assertTrue(same, "confirmed after a mutated step " + step);
        if (kind == Kind.REENCODED) assertTrue(confirmed, "the same values, written otherwise");
    }

    /** What an exchange is handed instead of the real message. */
    enum Kind {
        RANDOM,
        /**
         * The real message's values in another valid spelling: points (un)compressed, scalars
         * padded.
         */
        REENCODED,
        MUTATED
    }

    @Provide
    Arbitrary<byte[]> messages() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Fuzzing.randomBytes(600)),
                Tuple.of(
                        1,
                        Fuzzing.randomBytes(400)
                                .map(b -> prefixed((byte) (1 + Math.floorMod(b.length, 3)), b))),
                Tuple.of(6, Fuzzing.validOrMutated(Arbitraries.of(REAL))));
    }

    @Provide
    Arbitrary<String> texts() {
        return Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.strings().ofMaxLength(900)),
                Tuple.of(1, Arbitraries.strings().withChars("ABCabc019-_=+/%").ofMaxLength(900)),
                Tuple.of(2, Fuzzing.validOrMutated(Arbitraries.of(REAL)).map(PakeMessages::text)));
    }

    @Provide
    Arbitrary<Kind> kinds() {
        return Arbitraries.frequency(
                Tuple.of(1, Kind.RANDOM), Tuple.of(1, Kind.REENCODED), Tuple.of(6, Kind.MUTATED));
    }

    /**
     * The values of a real message written in another spelling the format admits: each point
     * compressed or not, each scalar with or without a leading zero byte.
     */
    static byte[] reencode(int step, byte[] real, Random r) throws PakeMessages.MalformedException {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        o.write(step);
        java.util.function.Consumer<byte[]> field =
                f -> {
                    o.write(f.length);
                    o.writeBytes(f);
                };
        java.util.function.Consumer<org.bouncycastle.math.ec.ECPoint> point =
                q -> field.accept(q.getEncoded(r.nextBoolean()));
        java.util.function.Consumer<java.math.BigInteger> scalar =
                v -> {
                    byte[] b = v.toByteArray();
                    if (b.length < PakeMessages.MAX_SCALAR_BYTES && r.nextBoolean()) {
                        byte[] padded = new byte[b.length + 1];
                        padded[0] = (byte) (v.signum() < 0 ? 0xff : 0);
                        System.arraycopy(b, 0, padded, 1, b.length);
                        b = padded;
                    }
                    field.accept(b);
                };
        switch (step) {
            case 1 -> {
                ECJPAKERound1Payload p = PakeMessages.round1(real);
                field.accept(
                        p.getParticipantId().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                point.accept(p.getGx1());
                point.accept(p.getGx2());
                point.accept(p.getKnowledgeProofForX1().getV());
                scalar.accept(p.getKnowledgeProofForX1().getr());
                point.accept(p.getKnowledgeProofForX2().getV());
                scalar.accept(p.getKnowledgeProofForX2().getr());
            }
            case 2 -> {
                ECJPAKERound2Payload p = PakeMessages.round2(real);
                field.accept(
                        p.getParticipantId().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                point.accept(p.getA());
                point.accept(p.getKnowledgeProofForX2s().getV());
                scalar.accept(p.getKnowledgeProofForX2s().getr());
            }
            default -> {
                ECJPAKERound3Payload p = PakeMessages.round3(real);
                field.accept(
                        p.getParticipantId().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                scalar.accept(p.getMacTag());
            }
        }
        return o.toByteArray();
    }

    private static byte[] prefixed(byte first, byte[] rest) {
        byte[] b = new byte[rest.length + 1];
        b[0] = first;
        System.arraycopy(rest, 0, b, 1, rest.length);
        return b;
    }

    private static byte[] randomBytes(Random r) {
        byte[] b = new byte[r.nextInt(400)];
        r.nextBytes(b);
        if (b.length > 0 && r.nextBoolean()) b[0] = (byte) (1 + r.nextInt(3));
        return b;
    }

    /** Whether {@code bad} decodes to exactly the values of {@code real}. */
    static boolean sameValues(int step, byte[] real, byte[] bad) {
        try {
            switch (step) {
                case 1 -> assertSame1(PakeMessages.round1(real), PakeMessages.round1(bad));
                case 2 -> assertSame2(PakeMessages.round2(real), PakeMessages.round2(bad));
                default -> assertSame3(PakeMessages.round3(real), PakeMessages.round3(bad));
            }
            return true;
        } catch (PakeMessages.MalformedException | AssertionError e) {
            return false;
        }
    }

    static void assertSame1(ECJPAKERound1Payload a, ECJPAKERound1Payload b) {
        assertEquals(a.getParticipantId(), b.getParticipantId());
        assertEquals(a.getGx1(), b.getGx1());
        assertEquals(a.getGx2(), b.getGx2());
        assertEquals(a.getKnowledgeProofForX1().getV(), b.getKnowledgeProofForX1().getV());
        assertEquals(a.getKnowledgeProofForX1().getr(), b.getKnowledgeProofForX1().getr());
        assertEquals(a.getKnowledgeProofForX2().getV(), b.getKnowledgeProofForX2().getV());
        assertEquals(a.getKnowledgeProofForX2().getr(), b.getKnowledgeProofForX2().getr());
    }

    static void assertSame2(ECJPAKERound2Payload a, ECJPAKERound2Payload b) {
        assertEquals(a.getParticipantId(), b.getParticipantId());
        assertEquals(a.getA(), b.getA());
        assertEquals(a.getKnowledgeProofForX2s().getV(), b.getKnowledgeProofForX2s().getV());
        assertEquals(a.getKnowledgeProofForX2s().getr(), b.getKnowledgeProofForX2s().getr());
    }

    static void assertSame3(ECJPAKERound3Payload a, ECJPAKERound3Payload b) {
        assertEquals(a.getParticipantId(), b.getParticipantId());
        assertEquals(a.getMacTag(), b.getMacTag());
    }

    /** An honest connector and share, and every message each has sent, by step. */
    static final class Pair {
        final PakeExchange connector = new PakeExchange(Role.CONNECTOR, SESSION, FP_C, PASSWORD);
        final PakeExchange share = new PakeExchange(Role.SHARE, SESSION, FP_S, PASSWORD);
        final byte[][] byConnector = new byte[4][];
        final byte[][] byShare = new byte[4][];
        final List<byte[]> sent = new ArrayList<>();

        byte[] fromConnector(int step) {
            return byConnector[step];
        }

        byte[] fromShare(int step) {
            return byShare[step];
        }

        /**
         * Sends each side's messages up to {@code step} (each side's step 1 at once, each later
         * step as the answer to the other's), and has each side receive the other's steps before
         * {@code step}; with 4, the whole exchange, confirmed.
         */
        void upTo(int step) throws PakeExchange.FailedException {
            byConnector[1] = connector.start();
            byShare[1] = share.start();
            for (int k = 1; k < step; k++) {
                Next c = connector.receive(k, byShare[k]);
                Next s = share.receive(k, byConnector[k]);
                if (k < 3) {
                    byConnector[k + 1] = c.reply();
                    byShare[k + 1] = s.reply();
                } else {
                    assertTrue(c.confirmed() && s.confirmed());
                }
            }
            for (int k = 1; k <= Math.min(step, 3); k++) {
                sent.add(byConnector[k]);
                sent.add(byShare[k]);
            }
        }

        /**
         * The receiver took a mutated step {@code step}, answering {@code next}; the other side
         * goes on honestly with the receiver's messages, and the receiver with the other's.
         *
         * @return whether the receiver confirmed the exchange
         */
        boolean finish(boolean atShare, int step, Next next) throws PakeExchange.FailedException {
            PakeExchange receiver = atShare ? share : connector;
            PakeExchange other = atShare ? connector : share;
            byte[][] fromReceiver = atShare ? byShare : byConnector;
            byte[][] fromOther = atShare ? byConnector : byShare;
            fromReceiver[step + 1] = next.reply();
            for (int k = step; k <= 3; k++) {
                if (k < 3) fromOther[k + 1] = other.receive(k, fromReceiver[k]).reply();
                if (k > step) {
                    Next r = receiver.receive(k, fromOther[k]);
                    if (k == 3) return r.confirmed();
                    fromReceiver[k + 1] = r.reply();
                }
            }
            throw new IllegalStateException("unreachable");
        }
    }
}
