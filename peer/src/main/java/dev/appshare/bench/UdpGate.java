package dev.appshare.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark helper: a firewall in front of a tunnel's UDP socket (put there through
 * {@code PathOptions.socketTap}, first in the pipeline). It passes everything ({@link Mode#OPEN}),
 * drops every datagram but STUN both ways ({@link Mode#ALL_BUT_STUN}: ICE validates a pair that then
 * carries nothing), or drops everything ({@link Mode#ALL}: the direct path is cut).
 *
 * <p>It also notes when it first dropped an outgoing non-STUN datagram: on the relay path the QUIC
 * codec never writes to this socket, so the first such datagram is the path layer's first probe of a
 * pair ICE has just validated.
 */
@ChannelHandler.Sharable
final class UdpGate extends ChannelDuplexHandler {
    enum Mode { OPEN, ALL_BUT_STUN, ALL }

    volatile Mode mode;
    /** System.nanoTime() of the first outgoing non-STUN datagram dropped, 0 before. */
    volatile long firstOutDropNanos;
    final AtomicLong droppedIn = new AtomicLong();
    final AtomicLong droppedOut = new AtomicLong();

    UdpGate(Mode mode) {
        this.mode = mode;
    }

    private boolean drops(DatagramPacket p) {
        return switch (mode) {
            case OPEN -> false;
            case ALL -> true;
            case ALL_BUT_STUN -> !isStun(p.content());
        };
    }

    /** RFC 7983: STUN starts with 0b00 and carries the magic cookie at bytes 4..7. */
    static boolean isStun(ByteBuf b) {
        int i = b.readerIndex();
        return b.readableBytes() >= 20 && (b.getByte(i) & 0xC0) == 0 && b.getInt(i + 4) == 0x2112A442;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket p && drops(p)) {
            droppedIn.incrementAndGet();
            ReferenceCountUtil.release(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof DatagramPacket p && drops(p)) {
            if (firstOutDropNanos == 0 && !isStun(p.content())) firstOutDropNanos = System.nanoTime();
            droppedOut.incrementAndGet();
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
        } else {
            ctx.write(msg, promise);
        }
    }
}
