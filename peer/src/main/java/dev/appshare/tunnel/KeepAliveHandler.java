package dev.appshare.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sits on a tunnel's QUIC connection and sends a one-byte QUIC DATAGRAM every few seconds, so an idle
 * tunnel is not closed by QUIC's idle timeout (netty's QUIC has no PING API) and paths see traffic.
 * Datagrams received are only evidence of life and are dropped.
 */
public final class KeepAliveHandler extends ChannelInboundHandlerAdapter {
    public static final long INTERVAL_MILLIS = 5_000;
    private ScheduledFuture<?> timer;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timer = ctx.executor().scheduleAtFixedRate(
                () -> ctx.channel().writeAndFlush(Unpooled.wrappedBuffer(new byte[] {0})),
                INTERVAL_MILLIS, INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf) {
            ReferenceCountUtil.release(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) timer.cancel(false);
        ctx.fireChannelInactive();
    }
}
