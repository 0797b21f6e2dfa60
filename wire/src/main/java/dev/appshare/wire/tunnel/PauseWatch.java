package dev.appshare.wire.tunnel;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.SocketAddress;

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

    /** {@link #reset}'s argument for a reset past the ceiling: whatever the socket did since. */
    static final long ANY_AGE = Long.MAX_VALUE;

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
     * Chosen by a scan: resets the socket on its own loop, unless it resumed or closed meanwhile
     * (or, for {@code since} other than {@link #ANY_AGE}, paused afresh). Returns false if already
     * being reset.
     */
    boolean reset(long since, Runnable logIt) {
        Channel ch = channel;
        if (resetting || ch == null) return false;
        resetting = true;
        ch.eventLoop()
                .execute(
                        () -> {
                            long now = pausedSince;
                            if (!ch.isActive()
                                    || now == NOT_PAUSED
                                    || (since != ANY_AGE && now != since)) {
                                resetting = false;
                                return;
                            }
                            logIt.run();
                            resume();
                            SpliceHandler.abort(ch); // the splice then aborts the stream
                        });
        return true;
    }
}
