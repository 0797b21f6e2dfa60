package dev.appshare.wire.path;

import io.netty.buffer.ByteBuf;

/**
 * Tells STUN apart from everything else on the shared UDP socket (RFC 7983): a STUN message's first
 * byte is 0..3 (the top six bits clear) and it carries the magic cookie at bytes 4..7; QUIC always
 * sets the 0x40 bit of its first byte, and our path probes use the 20..63 range, so neither can be
 * taken for STUN, whatever their later bytes (a probe's nonce can hold the cookie by chance).
 */
public final class StunPackets {
    /** A STUN header: type(2) | length(2) | magic cookie(4) | transaction id(12). */
    public static final int HEADER = 20;

    public static final int MAGIC_COOKIE = 0x2112A442;

    /** RFC 7983 §7: STUN's first byte is 0..3, so these bits are clear. */
    private static final int NOT_STUN_BITS = 0xFC;

    private StunPackets() {}

    public static boolean isStun(ByteBuf b) {
        int i = b.readerIndex();
        return b.readableBytes() >= HEADER
                && (b.getByte(i) & NOT_STUN_BITS) == 0
                && b.getInt(i + 4) == MAGIC_COOKIE;
    }

    /** Success and error responses have the class bits C1 (0x0100) set in the message type. */
    public static boolean isResponse(ByteBuf b) {
        return (b.getShort(b.readerIndex()) & 0x0100) != 0;
    }

    /** The 96-bit transaction id after the cookie, as a map key. */
    public static TransactionId transactionId(ByteBuf b) {
        int i = b.readerIndex() + 8;
        return new TransactionId(b.getLong(i), b.getInt(i + 8));
    }

    public record TransactionId(long hi, int lo) {}
}
