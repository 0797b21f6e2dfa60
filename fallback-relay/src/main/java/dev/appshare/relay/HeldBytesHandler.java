package dev.appshare.relay;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.TimeUnit;

/**
 * One spliced connection's part in the relay's {@link HeldBytesBudget}: counts what is queued for
 * it (each write, by the buffer's capacity, until the write completes or fails) and when it has
 * been unwritable since, i.e. how long its reader has not kept up. When the budget is short and
 * this direction is the longest stall, {@link #evict} resets it and its partner.
 */
final class HeldBytesHandler extends ChannelDuplexHandler {
    /** {@link #unwritableSince()} of a writable (or closed) connection. */
    static final long WRITABLE = Long.MIN_VALUE;

    private final HeldBytesBudget budget;
    private final Channel partner;
    private Channel channel;
    // Written on the channel's loop; read by whichever loop scans the budget.
    private volatile long held;
    private volatile long unwritableSince = WRITABLE;

    HeldBytesHandler(HeldBytesBudget budget, Channel partner) {
        this.budget = budget;
        this.partner = partner;
    }

    long held() {
        return held;
    }

    long unwritableSince() {
        return unwritableSince;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        int size = ctx.channel().config().getMessageSizeEstimator().newHandle().size(msg);
        if (size > 0) {
            held += size;
            budget.add(size);
            promise = promise.unvoid();
            promise.addListener(
                    (ChannelFutureListener)
                            f -> {
                                held -= size;
                                budget.add(-size);
                            });
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            unwritableSince = WRITABLE;
            budget.moving(this);
        } else if (unwritableSince == WRITABLE) {
            unwritableSince = budget.nanoTime();
            budget.stalled(
                    this,
                    (task, nanos) -> ctx.executor().schedule(task, nanos, TimeUnit.NANOSECONDS));
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        unwritableSince = WRITABLE;
        budget.moving(this);
        ctx.fireChannelInactive();
    }

    /** Resets this connection and its partner (any thread). */
    void evict() {
        Channel ch = channel;
        ch.eventLoop()
                .execute(
                        () -> {
                            SpliceHandler.abort(ch);
                            SpliceHandler.abort(partner);
                        });
    }

    /** Where the reader of this connection is. */
    java.net.SocketAddress reader() {
        return channel.remoteAddress();
    }
}
