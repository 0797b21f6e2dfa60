package dev.appshare.wire.tunnel;

import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.AttributeKey;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens this side's control streams (abort notices, the signal stream) only when the other peer's
 * QUIC stream limit allows one, and otherwise has them wait for its credit.
 *
 * <p>Why: {@code connect} and the gateway let the share have at most {@code
 * TunnelCodecs.MAX_STREAMS_FROM_SHARE} (1,024) streams open in them at once. netty (4.2.18) takes
 * the next stream id before quiche checks that limit, so an open that quiche refuses still uses up
 * its id; quiche on the other side counts every id below the highest one opened as opened (QUIC's
 * rule), and an id that never carried a stream is never closed, so its credit never comes back. A
 * burst of refused opens would leave the share with fewer and fewer streams for the tunnel's life.
 * netty's count of the credit left ({@link QuicChannel#peerAllowedStreams}) never exceeds quiche's
 * (it is refreshed when it reaches 0), so an open it allows is never refused.
 *
 * <p>At most {@value #MAX_WAITING} opens wait per QUIC connection, in order; more are dropped (an
 * abort notice then is lost, as when the tunnel closes). Waiting opens are retried every {@value
 * #RETRY_MILLIS} ms. All on the QUIC connection's event loop.
 */
public final class StreamCredit {
    private static final Logger log = LoggerFactory.getLogger(StreamCredit.class);

    /** Opens waiting for credit, per QUIC connection. */
    public static final int MAX_WAITING = 4_096;

    static final long RETRY_MILLIS = 20;

    private static final AttributeKey<StreamCredit> KEY =
            AttributeKey.valueOf(StreamCredit.class, "waiting");

    private final QuicChannel quic;
    private final ArrayDeque<Open> waiting = new ArrayDeque<>();
    private boolean retryScheduled;

    private record Open(
            ChannelHandler handler, Consumer<QuicStreamChannel> then, Runnable failed) {}

    private StreamCredit(QuicChannel quic) {
        this.quic = quic;
    }

    /**
     * Opens a bidirectional stream with {@code handler} as soon as the other peer's limit allows
     * and hands it to {@code then}; not at all if the tunnel closes first or too many wait (then
     * false; from another thread, always true: it is queued to the loop).
     */
    public static boolean open(
            QuicChannel quic, ChannelHandler handler, Consumer<QuicStreamChannel> then) {
        return open(quic, handler, then, () -> {});
    }

    /**
     * As {@link #open(QuicChannel, ChannelHandler, Consumer)}, and runs {@code failed} on the loop
     * if the stream, once waiting, is never opened: the tunnel closed first, or netty could not
     * create it. (Not when too many wait: that is the false returned.)
     */
    public static boolean open(
            QuicChannel quic,
            ChannelHandler handler,
            Consumer<QuicStreamChannel> then,
            Runnable failed) {
        if (!quic.eventLoop().inEventLoop()) {
            // Its state is the loop's alone (and netty spends credit synchronously only there).
            quic.eventLoop()
                    .execute(
                            () -> {
                                if (!open(quic, handler, then, failed)) failed.run();
                            });
            return true;
        }
        StreamCredit c = quic.attr(KEY).get();
        if (c == null) {
            c = new StreamCredit(quic);
            quic.attr(KEY).set(c);
        }
        return c.add(new Open(handler, then, failed));
    }

    private boolean add(Open o) {
        if (waiting.size() >= MAX_WAITING) {
            log.debug(
                    "dropped a control stream: {} wait for the other peer's credit",
                    waiting.size());
            return false;
        }
        waiting.add(o);
        drain();
        return true;
    }

    private void drain() {
        if (!quic.isActive()) {
            Open o;
            while ((o = waiting.poll()) != null) o.failed().run();
            return;
        }
        while (!waiting.isEmpty() && quic.peerAllowedStreams(QuicStreamType.BIDIRECTIONAL) > 0) {
            Open o = waiting.poll();
            quic.newStreamBootstrap()
                    .type(QuicStreamType.BIDIRECTIONAL)
                    .handler(o.handler())
                    .create()
                    .addListener(
                            f -> {
                                if (f.isSuccess()) {
                                    o.then().accept((QuicStreamChannel) f.getNow());
                                } else {
                                    log.debug("no control stream: {}", f.cause().toString());
                                    o.failed().run();
                                }
                            });
        }
        if (!waiting.isEmpty() && !retryScheduled) {
            retryScheduled = true;
            quic.eventLoop()
                    .schedule(
                            () -> {
                                retryScheduled = false;
                                drain();
                            },
                            RETRY_MILLIS,
                            TimeUnit.MILLISECONDS);
        }
    }
}
