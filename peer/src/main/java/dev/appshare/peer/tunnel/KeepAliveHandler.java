package dev.appshare.peer.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicConnectionPathStats;
import io.netty.handler.codec.quic.QuicConnectionStats;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits on a tunnel's QUIC connection and sends a one-byte QUIC DATAGRAM every few seconds, so an
 * idle tunnel is not closed by QUIC's idle timeout (netty's QUIC has no PING API) and paths see
 * traffic. Datagrams received are only evidence of life and are dropped. At DEBUG it logs the
 * connection's loss, RTT and congestion window on each tick.
 */
public final class KeepAliveHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(KeepAliveHandler.class);
    public static final long INTERVAL_MILLIS = 5_000;
    private ScheduledFuture<?> timer;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timer =
                ctx.executor()
                        .scheduleAtFixedRate(
                                () -> {
                                    ctx.channel()
                                            .writeAndFlush(Unpooled.wrappedBuffer(new byte[] {0}));
                                    if (log.isDebugEnabled()
                                            && ctx.channel() instanceof QuicChannel quic)
                                        logStats(quic);
                                },
                                INTERVAL_MILLIS,
                                INTERVAL_MILLIS,
                                TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    private static void logStats(QuicChannel quic) {
        quic.collectStats()
                .addListener(
                        f -> {
                            if (!f.isSuccess()) return;
                            QuicConnectionStats s = (QuicConnectionStats) f.getNow();
                            quic.collectPathStats(0)
                                    .addListener(
                                            p -> {
                                                if (!p.isSuccess()) return;
                                                QuicConnectionPathStats ps =
                                                        (QuicConnectionPathStats) p.getNow();
                                                log.debug(
                                                        "tunnel: sent {} pkts ({} B), lost {}, rtt"
                                                            + " {} us, cwnd {} B, delivery {} B/s",
                                                        s.sent(),
                                                        s.sentBytes(),
                                                        s.lost(),
                                                        ps.rtt() / 1000,
                                                        ps.cwnd(),
                                                        ps.deliveryRate());
                                            });
                        });
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
