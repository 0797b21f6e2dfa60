package dev.appshare.wire.path;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The direct path's liveness probe, a datagram of its own beside QUIC on the shared socket: {@code
 * type(1) | nonce(8) | zero padding}. Type 0x20 asks and is padded to {@value #PROBE_LENGTH} bytes,
 * QUIC's largest datagram, so a path that drops full-size packets (a smaller MTU) fails its probes
 * instead of passing them while QUIC starves; 0x21 answers with the same nonce in {@value
 * #ANSWER_LENGTH} bytes, never more than was asked. Both types sit in RFC 7983's 20..63 range,
 * which neither STUN (0..3) nor QUIC (0x40 bit set) uses. A peer answers only probes from the
 * 5-tuple its own ICE validated, so an answer proves the path both ways, for both.
 */
public final class PathProbe {
    public static final byte PROBE = 0x20;
    public static final byte ANSWER = 0x21;
    public static final int PROBE_LENGTH = 1350; // TunnelCodecs.MAX_UDP_PAYLOAD
    public static final int ANSWER_LENGTH = 9;

    private PathProbe() {}

    public static boolean isProbe(ByteBuf b) {
        byte t = b.getByte(b.readerIndex());
        return t == PROBE && b.readableBytes() == PROBE_LENGTH
                || t == ANSWER && b.readableBytes() == ANSWER_LENGTH;
    }

    public static ByteBuf encode(ByteBufAllocator alloc, byte type, long nonce) {
        int length = type == PROBE ? PROBE_LENGTH : ANSWER_LENGTH;
        return alloc.buffer(length)
                .writeByte(type)
                .writeLong(nonce)
                .writeZero(length - ANSWER_LENGTH);
    }

    public static byte type(ByteBuf b) {
        return b.getByte(b.readerIndex());
    }

    public static long nonce(ByteBuf b) {
        return b.getLong(b.readerIndex() + 1);
    }
}
