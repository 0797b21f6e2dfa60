package dev.appshare.e2e;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;

/**
 * A firewall in front of a tunnel's UDP socket, for tests: it drops datagrams both ways, either all
 * of them or all but STUN (so ICE validates a pair that then carries nothing).
 */
final class UdpCut extends ChannelDuplexHandler {
    enum Mode { OPEN, ALL_BUT_STUN, ALL }

    volatile Mode mode;

    UdpCut(Mode mode) {
        this.mode = mode;
    }

    private boolean drops(Object msg) {
        if (!(msg instanceof DatagramPacket p)) return false;
        return switch (mode) {
            case OPEN -> false;
            case ALL -> true;
            case ALL_BUT_STUN -> !isStun(p.content());
        };
    }

    /** RFC 7983: STUN starts with 0b00 and has the magic cookie at bytes 4..7. */
    private static boolean isStun(io.netty.buffer.ByteBuf b) {
        int i = b.readerIndex();
        return b.readableBytes() >= 20 && (b.getByte(i) & 0xC0) == 0 && b.getInt(i + 4) == 0x2112A442;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (drops(msg)) ReferenceCountUtil.release(msg);
        else ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (drops(msg)) {
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
        } else {
            ctx.write(msg, promise);
        }
    }
}
