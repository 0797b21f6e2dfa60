package dev.appshare.relay;

import dev.appshare.wire.net.SpliceHandler;
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
 * One spliced connection's part in the relay's {@link HeldBytesBudget}: counts what is queued for
 * it (each write, by the buffer's capacity, until the write completes or fails) and since when it
 * has held bytes without a write completing, i.e. how long its reader has taken nothing. Made in
 * pairs ({@link #pair}), one per connection of a spliced pair, so that a reset counts and resets
 * both.
 */
final class HeldBytesHandler extends ChannelDuplexHandler {
    /** {@link #evict}'s argument for a reset past the ceiling: whatever the reader did since. */
    static final long ANY_AGE = Long.MIN_VALUE;

    private final HeldBytesBudget budget;
    private HeldBytesHandler partner;
    private Channel channel;
    private HeldBytesBudget.Scheduler recheck;
    // Written on the channel's loop; read by whichever loop scans the budget.
    private volatile long held;
    private volatile long waitingSince; // while held > 0: the last completed write, or the first
    private volatile boolean evicting; // chosen by a scan (which runs one at a time)

    private HeldBytesHandler(HeldBytesBudget budget) {
        this.budget = budget;
    }

    /** The handlers for the two connections of one spliced pair. */
    static HeldBytesHandler[] pair(HeldBytesBudget budget) {
        HeldBytesHandler a = new HeldBytesHandler(budget);
        HeldBytesHandler b = new HeldBytesHandler(budget);
        a.partner = b;
        b.partner = a;
        return new HeldBytesHandler[] {a, b};
    }

    long held() {
        return held;
    }

    long partnerHeld() {
        return partner.held;
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
        if (evicting || partner.evicting) return false;
        evicting = true;
        partner.evicting = true;
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
                                partner.evicting = false;
                                return;
                            }
                            onReset.run();
                            SpliceHandler.abort(ch);
                            Channel other = partner.channel;
                            if (other != null) SpliceHandler.abort(other);
                        });
    }
}
