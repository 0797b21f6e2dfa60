package dev.appshare.wire.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.channel.ChannelPromise;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * One connection's part in its server's {@link HeldBytesBudget}: counts what is queued for it (each
 * write, by the channel's message size estimator, until the write completes or fails) and since
 * when its socket has taken none of it. Made in pairs for the relay ({@link #pair}, one per
 * connection of a spliced pair, so that a reset counts and resets both) or alone for a gateway
 * visitor ({@link #single}). Goes right after any TLS handler, so it counts what reaches the
 * socket's queue.
 */
public final class HeldBytesHandler extends ChannelDuplexHandler {
    /** {@link #evict}'s argument for a reset past the ceiling: whatever the reader did since. */
    static final long ANY_AGE = Long.MIN_VALUE;

    private final HeldBytesBudget budget;
    private final HeldBytesBudget.Evictions log;
    private HeldBytesHandler partner; // null: none (a gateway visitor)
    private Channel channel;
    private HeldBytesBudget.Scheduler recheck;
    // Written on the channel's loop; read by whichever loop scans the budget.
    private volatile long held;
    private volatile long waitingSince; // while held > 0: the last completed write, or the first
    private volatile boolean evicting; // chosen by a scan (which runs one at a time)

    private HeldBytesHandler(HeldBytesBudget budget, HeldBytesBudget.Evictions log) {
        this.budget = budget;
        this.log = log;
    }

    /** The handlers for the two connections of one spliced pair; {@code log} hears of resets. */
    public static HeldBytesHandler[] pair(HeldBytesBudget budget, HeldBytesBudget.Evictions log) {
        HeldBytesHandler a = new HeldBytesHandler(budget, log);
        HeldBytesHandler b = new HeldBytesHandler(budget, log);
        a.partner = b;
        b.partner = a;
        return new HeldBytesHandler[] {a, b};
    }

    /** The handler of a connection without a partner; {@code log} hears of its reset. */
    public static HeldBytesHandler single(HeldBytesBudget budget, HeldBytesBudget.Evictions log) {
        return new HeldBytesHandler(budget, log);
    }

    HeldBytesBudget.Evictions log() {
        return log;
    }

    long held() {
        return held;
    }

    long partnerHeld() {
        return partner == null ? 0 : partner.held;
    }

    long waitingSince() {
        return waitingSince;
    }

    boolean evicting() {
        return evicting;
    }

    SocketAddress reader() {
        Channel ch = channel;
        return ch == null ? null : ch.remoteAddress();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        recheck = (task, nanos) -> ctx.executor().schedule(task, nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        int size = ctx.channel().config().getMessageSizeEstimator().newHandle().size(msg);
        if (size <= 0) {
            ctx.write(msg, promise);
            return;
        }
        if (held == 0) waitingSince = budget.nanoTime();
        held += size;
        // Counted before the write: a write that fails at once releases in its listener.
        budget.queued(this, size);
        // Progressive: the socket reports each part of the buffer it took (netty's partial
        // writes), so a reader that takes a little of a large buffer moves, not only one that
        // takes all of it.
        ChannelProgressivePromise tracked = ctx.newProgressivePromise();
        tracked.addListener(new Written(size, promise));
        ctx.write(msg, tracked);
        budget.checkIfOver(recheck); // after the write: a check that throws loses no buffer
    }

    /** Counts a write out when it completes, passes its result on, and notes partial progress. */
    private final class Written implements ChannelProgressiveFutureListener {
        private final int size;
        private final ChannelPromise promise;

        Written(int size, ChannelPromise promise) {
            this.size = size;
            this.promise = promise;
        }

        @Override
        public void operationProgressed(ChannelProgressiveFuture f, long progress, long total) {
            waitingSince = budget.nanoTime(); // the reader took something: it moves
        }

        @Override
        public void operationComplete(ChannelProgressiveFuture f) {
            long left = held - size;
            held = left;
            if (left > 0) waitingSince = budget.nanoTime();
            budget.released(HeldBytesHandler.this, size, left == 0);
            if (f.isSuccess()) promise.trySuccess();
            else promise.tryFailure(f.cause());
        }
    }

    /** Marks this pair as chosen; false if it already was (by its other direction). */
    boolean startEvicting() {
        if (evicting || partner != null && partner.evicting) return false;
        evicting = true;
        if (partner != null) partner.evicting = true;
        return true;
    }

    /**
     * Resets this connection and its partner, on this connection's loop, unless the scan's view is
     * stale: a reader that took its bytes since {@code waitingSince} (as the scan saw it) is
     * spared, past the ceiling ({@link #ANY_AGE}) it is not; a pair that closed meanwhile is left
     * alone. {@code onReset} runs first if it is reset.
     */
    void evict(long seenWaitingSince, Runnable onReset) {
        Channel ch = channel;
        ch.eventLoop()
                .execute(
                        () -> {
                            if (!ch.isActive()
                                    || seenWaitingSince != ANY_AGE
                                            && (held == 0 || waitingSince != seenWaitingSince)) {
                                evicting = false;
                                if (partner != null) partner.evicting = false;
                                return;
                            }
                            onReset.run();
                            SpliceHandler.abort(ch);
                            Channel other = partner == null ? null : partner.channel;
                            if (other != null) SpliceHandler.abort(other);
                        });
    }
}
