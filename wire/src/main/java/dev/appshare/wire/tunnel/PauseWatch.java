package dev.appshare.wire.tunnel;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.SocketAddress;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One pipeline step on a socket that a QUIC stream's bytes are written to (a local client on the
 * connect side, the shared application on the share side, a visitor at the gateway): it tells
 * {@link PausedStreams} when the socket turns unwritable, which is when the splice stops reading
 * the stream and quiche starts holding its bytes, and when it turns writable again or closes.
 *
 * <p>Its state is written on the socket's event loop and read by a scan on any loop.
 */
public final class PauseWatch extends ChannelInboundHandlerAdapter {
    static final long NOT_PAUSED = Long.MIN_VALUE;

    private final PausedStreams streams;
    private volatile long pausedSince = NOT_PAUSED;
    private volatile boolean resetting;
    private volatile Channel channel;

    PauseWatch(PausedStreams streams) {
        this.streams = streams;
    }

    long pausedSince() {
        return pausedSince;
    }

    boolean resetting() {
        return resetting;
    }

    SocketAddress reader() {
        Channel ch = channel;
        return ch == null ? null : ch.remoteAddress();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        if (ctx.channel().isActive() && !ctx.channel().isWritable()) pause(ctx.channel());
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) resume();
        else pause(ctx.channel());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        resume();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        resume();
    }

    private void pause(Channel ch) {
        if (pausedSince != NOT_PAUSED || !ch.isActive()) return;
        pausedSince = streams.nanoTime();
        streams.paused(this, ch);
    }

    private void resume() {
        if (pausedSince == NOT_PAUSED) return;
        pausedSince = NOT_PAUSED;
        streams.resumed(this);
    }

    /**
     * Chosen by a scan: resets the socket on its own loop, unless it closed, took something or
     * paused afresh meanwhile (then the budget is checked again). Returns false if already being
     * reset. It still counts until it has closed ({@link #channelInactive}).
     */
    boolean reset(long since, long stallNanos, Runnable logIt) {
        Channel ch = channel;
        if (resetting || ch == null) return false;
        resetting = true;
        try {
            ch.eventLoop()
                    .execute(
                            () -> {
                                if (!ch.isActive() || pausedSince != since) {
                                    resetting = false;
                                    streams.check(ch);
                                    return;
                                }
                                long sent = sinceDataSentNanos(ch);
                                if (sent < stallNanos) {
                                    // The kernel sent it some of its queue lately: a slow
                                    // reader, not a stopped one. Paused since then.
                                    pausedSince = streams.nanoTime() - sent;
                                    resetting = false;
                                    streams.check(ch);
                                    return;
                                }
                                logIt.run();
                                // the splice, or the gateway, then aborts the stream
                                SpliceHandler.abort(ch);
                            });
        } catch (RejectedExecutionException shuttingDown) {
            resetting = false;
            return false;
        }
        return true;
    }

    /**
     * How long ago the kernel last sent the socket's reader data (TCP_INFO's last_data_sent, on
     * epoll), or {@link Long#MAX_VALUE} where that is not known. Writability alone is coarse: the
     * kernel's send buffer grows to a few MiB, and its socket turns writable again only once about
     * a third of it is sent, so a reader taking 256 KiB a second leaves its socket unwritable for
     * seconds at a time while it reads all along.
     */
    private static long sinceDataSentNanos(Channel ch) {
        if (!(ch instanceof EpollSocketChannel e)) return Long.MAX_VALUE;
        try {
            return TimeUnit.MILLISECONDS.toNanos(e.tcpInfo().lastDataSent());
        } catch (RuntimeException closed) {
            return Long.MAX_VALUE;
        }
    }
}
