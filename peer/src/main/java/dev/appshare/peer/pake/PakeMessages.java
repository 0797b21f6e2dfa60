package dev.appshare.peer.pake;

import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.io.ByteArrayOutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKECurves;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound1Payload;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound2Payload;
import org.bouncycastle.crypto.agreement.ecjpake.ECJPAKERound3Payload;
import org.bouncycastle.crypto.agreement.ecjpake.ECSchnorrZKP;
import org.bouncycastle.math.ec.ECCurve;
import org.bouncycastle.math.ec.ECPoint;

/**
 * The bytes of the PAKE's three steps (PAKE data=, base64url without padding). BouncyCastle's EC
 * J-PAKE payloads are objects; this is their wire form, read strictly: every length checked before
 * it is used, the whole input consumed, points decoded (and so checked to be on P-256) by
 * BouncyCastle. Whatever parses still goes through BouncyCastle's own validation (the
 * zero-knowledge proofs, the key confirmation tag).
 *
 * <pre>
 * step 1 := 0x01 | id | point gx1 | point gx2 | point V1 | scalar r1 | point V2 | scalar r2
 * step 2 := 0x02 | id | point A | point V | scalar r
 * step 3 := 0x03 | id | scalar mac
 * id     := u8 length (1..160) | UTF-8 participant id   (see PakeExchange: role, session, key)
 * point  := u8 length (33 or 65) | SEC 1 encoding, compressed or not, of a P-256 point
 * scalar := u8 length (1..33) | big-endian two's complement integer (BigInteger.toByteArray: the
 *           confirmation tag is a signed integer in BouncyCastle)
 * </pre>
 *
 * At most {@link RendezvousProtocol#MAX_PAKE_BYTES} bytes: a step 1 is about 330.
 */
public final class PakeMessages {
    public static final int MAX_ID_BYTES = 160;
    public static final int MAX_SCALAR_BYTES = 33;

    private static final ECCurve CURVE = ECJPAKECurves.NIST_P256.getCurve();

    /**
     * BouncyCastle (1.87) builds a received zero-knowledge proof only inside its own package: the
     * constructor {@code ECSchnorrZKP(ECPoint, BigInteger)} is package-private, as its J-PAKE
     * payloads were meant to be passed as objects. We call that one constructor by reflection (the
     * jar is on the class path, so this needs no --add-opens); everything it builds is then
     * validated by BouncyCastle.
     */
    private static final MethodHandle NEW_ZKP = zkpConstructor();

    private PakeMessages() {}

    /** A message that does not parse: the exchange fails. */
    public static final class MalformedException extends Exception {
        public MalformedException(String message) {
            super(message);
        }
    }

    public static byte[] encode(ECJPAKERound1Payload p) {
        Out o = new Out(1);
        o.id(p.getParticipantId());
        o.point(p.getGx1());
        o.point(p.getGx2());
        o.zkp(p.getKnowledgeProofForX1());
        o.zkp(p.getKnowledgeProofForX2());
        return o.bytes();
    }

    public static byte[] encode(ECJPAKERound2Payload p) {
        Out o = new Out(2);
        o.id(p.getParticipantId());
        o.point(p.getA());
        o.zkp(p.getKnowledgeProofForX2s());
        return o.bytes();
    }

    public static byte[] encode(ECJPAKERound3Payload p) {
        Out o = new Out(3);
        o.id(p.getParticipantId());
        o.scalar(p.getMacTag());
        return o.bytes();
    }

    public static ECJPAKERound1Payload round1(byte[] b) throws MalformedException {
        In in = new In(b, 1);
        ECJPAKERound1Payload p =
                new ECJPAKERound1Payload(in.id(), in.point(), in.point(), in.zkp(), in.zkp());
        in.end();
        return p;
    }

    public static ECJPAKERound2Payload round2(byte[] b) throws MalformedException {
        In in = new In(b, 2);
        ECJPAKERound2Payload p = new ECJPAKERound2Payload(in.id(), in.point(), in.zkp());
        in.end();
        return p;
    }

    public static ECJPAKERound3Payload round3(byte[] b) throws MalformedException {
        In in = new In(b, 3);
        ECJPAKERound3Payload p = new ECJPAKERound3Payload(in.id(), in.scalar());
        in.end();
        return p;
    }

    /** The control message that carries one step: {@code PAKE session=ID step=N data=B64}. */
    public static RendezvousMessage message(String session, int step, byte[] data) {
        return RendezvousMessage.of(
                RendezvousProtocol.PAKE,
                "session",
                session,
                "step",
                Integer.toString(step),
                "data",
                text(data));
    }

    /**
     * Hands a PAKE control message's step and data to an exchange; a message without a valid step
     * or data is malformed.
     */
    public static PakeExchange.Next receive(PakeExchange pake, RendezvousMessage m)
            throws MalformedException, PakeExchange.FailedException {
        String step = m.get("step");
        if (step == null || !step.matches(RendezvousProtocol.PAKE_STEP_PATTERN))
            throw new MalformedException("a PAKE message without a step");
        return pake.receive(Integer.parseInt(step), bytes(m.get("data")));
    }

    /** PAKE data= text for bytes. */
    public static String text(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Bytes for PAKE data= text, checked against its pattern and size. */
    public static byte[] bytes(String text) throws MalformedException {
        if (text == null || !text.matches(RendezvousProtocol.PAKE_DATA_PATTERN))
            throw new MalformedException("malformed PAKE data");
        try {
            byte[] b = Base64.getUrlDecoder().decode(text);
            if (b.length > RendezvousProtocol.MAX_PAKE_BYTES)
                throw new MalformedException("PAKE data too long");
            return b;
        } catch (IllegalArgumentException e) {
            throw new MalformedException("malformed PAKE data");
        }
    }

    private static final class Out {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(400);

        Out(int step) {
            out.write(step);
        }

        void id(String id) {
            byte[] b = id.getBytes(StandardCharsets.UTF_8);
            if (b.length < 1 || b.length > MAX_ID_BYTES)
                throw new IllegalArgumentException("participant id length " + b.length);
            field(b);
        }

        void point(ECPoint p) {
            field(p.getEncoded(true));
        }

        void zkp(ECSchnorrZKP z) {
            point(z.getV());
            scalar(z.getr());
        }

        void scalar(BigInteger v) {
            byte[] b = v.toByteArray(); // minimal two's complement
            if (b.length > MAX_SCALAR_BYTES)
                throw new IllegalArgumentException("scalar of " + b.length + " bytes");
            field(b);
        }

        private void field(byte[] b) {
            out.write(b.length);
            out.writeBytes(b);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private static final class In {
        private final byte[] b;
        private int at;

        In(byte[] b, int step) throws MalformedException {
            this.b = b;
            if (b.length < 1 || b.length > RendezvousProtocol.MAX_PAKE_BYTES)
                throw new MalformedException("PAKE message of " + b.length + " bytes");
            if (b[0] != step)
                throw new MalformedException(
                        "expected PAKE step " + step + ", got kind " + (b[0] & 0xff));
            at = 1;
        }

        private byte[] field(int min, int max, String what) throws MalformedException {
            if (at >= b.length) throw new MalformedException("PAKE message ends before " + what);
            int n = b[at++] & 0xff;
            if (n < min || n > max) throw new MalformedException(what + " of " + n + " bytes");
            if (b.length - at < n) throw new MalformedException("PAKE message ends in " + what);
            byte[] f = java.util.Arrays.copyOfRange(b, at, at + n);
            at += n;
            return f;
        }

        String id() throws MalformedException {
            byte[] f = field(1, MAX_ID_BYTES, "participant id");
            try {
                return StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(f))
                        .toString();
            } catch (CharacterCodingException e) {
                throw new MalformedException("participant id is not UTF-8");
            }
        }

        ECPoint point() throws MalformedException {
            byte[] f = field(33, 65, "point");
            if (f.length != 33 && f.length != 65)
                throw new MalformedException("point of " + f.length + " bytes");
            try {
                return CURVE.decodePoint(f);
            } catch (RuntimeException e) { // IllegalArgumentException: not on the curve
                throw new MalformedException("not a P-256 point");
            }
        }

        BigInteger scalar() throws MalformedException {
            return new BigInteger(field(1, MAX_SCALAR_BYTES, "scalar"));
        }

        ECSchnorrZKP zkp() throws MalformedException {
            ECPoint v = point();
            BigInteger r = scalar();
            try {
                return (ECSchnorrZKP) NEW_ZKP.invoke(v, r);
            } catch (Throwable t) {
                throw new IllegalStateException("cannot build a J-PAKE proof", t);
            }
        }

        void end() throws MalformedException {
            if (at != b.length)
                throw new MalformedException((b.length - at) + " bytes after the PAKE message");
        }
    }

    private static MethodHandle zkpConstructor() {
        try {
            var c = ECSchnorrZKP.class.getDeclaredConstructor(ECPoint.class, BigInteger.class);
            c.setAccessible(true);
            return MethodHandles.lookup()
                    .unreflectConstructor(c)
                    .asType(
                            MethodType.methodType(
                                    ECSchnorrZKP.class, ECPoint.class, BigInteger.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "this BouncyCastle does not let appshare read J-PAKE proofs", e);
        }
    }
}
