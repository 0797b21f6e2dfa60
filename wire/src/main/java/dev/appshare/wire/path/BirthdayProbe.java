package dev.appshare.wire.path;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The birthday search's datagrams (issue 13; docs/protocol.md §5), beside QUIC and the path probes
 * on the same sockets, in RFC 7983's 20..63 range like {@link PathProbe}:
 *
 * <pre>
 *   type(1) | nonce(8) | tag(16)                                  25 bytes
 *   type 0x22 asks (easy side to a guessed port; hard side's opening datagrams), 0x23 answers with
 *   the nonce it was asked with
 *   tag = the first 16 bytes of HMAC-SHA256(key, type | nonce)
 * </pre>
 *
 * The key comes from the PAKE both peers ran (the rendezvous never learns it), so no stranger can
 * make a peer adopt its address: a datagram whose tag is wrong is dropped unanswered.
 */
public final class BirthdayProbe {
    public static final byte PROBE = 0x22;
    public static final byte ANSWER = 0x23;
    public static final int TAG_LENGTH = 16;
    public static final int LENGTH = 1 + 8 + TAG_LENGTH;

    private BirthdayProbe() {}

    /** True if {@code b} has a birthday datagram's type and length (its tag not yet checked). */
    public static boolean is(ByteBuf b) {
        if (b.readableBytes() != LENGTH) return false;
        byte t = b.getByte(b.readerIndex());
        return t == PROBE || t == ANSWER;
    }

    public static byte type(ByteBuf b) {
        return b.getByte(b.readerIndex());
    }

    public static long nonce(ByteBuf b) {
        return b.getLong(b.readerIndex() + 1);
    }

    public static ByteBuf encode(ByteBufAllocator alloc, byte[] key, byte type, long nonce) {
        return alloc.buffer(LENGTH)
                .writeByte(type)
                .writeLong(nonce)
                .writeBytes(tag(key, type, nonce));
    }

    /** True if {@code b}'s tag is right for its type and nonce under {@code key}. */
    public static boolean verify(byte[] key, ByteBuf b) {
        byte[] got = new byte[TAG_LENGTH];
        b.getBytes(b.readerIndex() + 9, got);
        return MessageDigest.isEqual(got, tag(key, type(b), nonce(b))); // constant time
    }

    private static byte[] tag(byte[] key, byte type, long nonce) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            mac.update(type);
            for (int i = 7; i >= 0; i--) mac.update((byte) (nonce >>> (8 * i)));
            byte[] full = mac.doFinal();
            byte[] t = new byte[TAG_LENGTH];
            System.arraycopy(full, 0, t, 0, TAG_LENGTH);
            return t;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }
}
