package dev.appshare.wire.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import java.nio.ByteOrder;
import java.util.List;

/**
 * How the two peers carry datagrams over a paired relay connection, from the first byte after the
 * relay's "OK" ({@link RelayProtocol}) on. The relay never parses it; both peers must agree on it:
 *
 * <pre>
 *   frame    := length u16 (big-endian) | datagram [length bytes]
 *   datagram := one UDP payload the QUIC codec produced; 1 &lt;= length &lt;= {@value #MAX_DATAGRAM}
 * </pre>
 *
 * TCP keeps the frames in order and whole, so no other header is needed. Each side refuses a length
 * outside 1..{@value #MAX_DATAGRAM}: the decoder as soon as the two length bytes arrive (before
 * buffering any body), which fails the connection; the encoder before writing, which fails only
 * that write.
 */
public final class RelayDatagrams {
    /**
     * Largest datagram carried, so the decoder never buffers more than this per frame: above the
     * 8000-byte datagrams of a tunnel whose two ends are both relay-only (no MTU under a TCP
     * stream), and far above the 1350 bytes of a tunnel that may also use UDP.
     */
    public static final int MAX_DATAGRAM = 8192;

    /** The u16 length in front of each datagram. */
    public static final int LENGTH_BYTES = 2;

    private RelayDatagrams() {}

    /** Turns the connection's bytes into one {@link ByteBuf} per datagram. */
    public static ChannelHandler newDecoder() {
        return new Decoder();
    }

    /** Puts the length in front of each {@link ByteBuf} written (one datagram each). */
    public static ChannelHandler newEncoder() {
        return new Encoder();
    }

    private static final class Decoder extends LengthFieldBasedFrameDecoder {
        Decoder() {
            // failFast: an over-long length fails at once, before its body is read.
            super(MAX_DATAGRAM + LENGTH_BYTES, 0, LENGTH_BYTES, 0, LENGTH_BYTES, true);
        }

        @Override
        protected long getUnadjustedFrameLength(
                ByteBuf buf, int offset, int length, ByteOrder order) {
            long datagram = super.getUnadjustedFrameLength(buf, offset, length, order);
            if (datagram == 0) throw new CorruptedFrameException("relay datagram of length 0");
            return datagram;
        }
    }

    private static final class Encoder extends LengthFieldPrepender {
        Encoder() {
            super(LENGTH_BYTES);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf datagram, List<Object> out)
                throws Exception {
            int length = datagram.readableBytes();
            if (length < 1 || length > MAX_DATAGRAM) {
                throw new EncoderException(
                        "relay datagram of " + length + " bytes (must be 1.." + MAX_DATAGRAM + ")");
            }
            super.encode(ctx, datagram, out);
        }
    }
}
