package dev.appshare.peer.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamChannelBootstrap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tunnel's QUIC connections over its one path, its <em>lanes</em>, and which one carries a new
 * stream.
 *
 * <p>Why more than one: netty's QUIC codec walks every writable stream of a connection after each
 * packet it reads ({@code QuicheQuicChannel.handleWritableStreams}), and in quiche every stream
 * with flow-control credit is writable, idle keep-alive ones too. So a connection's cost per packet
 * grows with its open streams: at 1,000 tunnelled connections the walk was 43% of a share's CPU
 * (docs/benchmarks.md). quiche's edge-triggered {@code stream_writable_next} would end the walk,
 * but netty 4.2.18 does not call it; spreading the streams over a few connections divides it.
 *
 * <p>The policy: a tunnel starts with one lane, the first. A new stream takes the lane with the
 * fewest open streams; when even that one holds {@link #STREAMS_PER_LANE}, the tunnel opens another
 * lane (several at once for a burst: a load test or a page of many images opens hundreds together;
 * at most {@link #maxLanes()} in all) and the stream waits for it, at most {@link #WAIT_MILLIS},
 * before it goes on the lanes there are (streams never move: a lane that takes longer leaves the
 * burst on the lanes that were up, and later streams no longer wait for it until a lane comes up).
 * A lane carries streams once the share has accepted it: its first QUIC DATAGRAM on the lane
 * ({@link #ACCEPTED}) says so, and a share that takes one connection per session (older versions)
 * closes the lane instead, which ends the tunnel's tries but no stream. Lanes share the path, the
 * keys pinned and the share's budgets of the session; the first alone carries the path layer's
 * signals, and its end ends the tunnel, which closes the others. A lane that closes while the first
 * is up ends its own streams, as any lost connection does, and the tunnel opens no more.
 *
 * <p>Thread-safe: streams open from the local sockets' loops.
 */
public final class TunnelLanes {
    private static final Logger log = LoggerFactory.getLogger(TunnelLanes.class);

    /** Open streams a lane takes before the tunnel opens another. */
    public static final int STREAMS_PER_LANE = 128;

    /**
     * The most lanes a tunnel opens, and a share accepts in one session: 8 × {@link
     * #STREAMS_PER_LANE} keeps the walk at its 128-stream size up to 1,024 connections.
     */
    public static final int MAX_LANES = 8;

    /** The longest a new stream waits for a lane that is opening. */
    public static final long WAIT_MILLIS = 1_000;

    /**
     * How long a lane may take to open and be accepted: the handshake, then the share's word (a
     * DATAGRAM, which may be lost: the share's keep-alive sends another every {@link
     * KeepAliveHandler#INTERVAL_MILLIS}).
     */
    public static final long ACCEPT_MILLIS = 3 * KeepAliveHandler.INTERVAL_MILLIS;

    /**
     * The share's word that it accepted a lane: one QUIC DATAGRAM on it, as the keep-alive's (any
     * DATAGRAM counts).
     */
    public static final byte[] ACCEPTED = {0};

    /**
     * The lanes a tunnel opens at most, the first included: {@link #MAX_LANES} unless {@code
     * -Dappshare.lanes=N} (1 for one connection alone, as before lanes). They were off for a day
     * while a few connections of ManyConnectionsTest's path move lost their end; that was quiche
     * dropping a FIN (StreamEnds), which the end records now make up for (docs/architecture.md).
     */
    public static int maxLanes() {
        return Math.max(1, Math.min(MAX_LANES, Integer.getInteger("appshare.lanes", MAX_LANES)));
    }

    private final QuicChannel first;
    private final Function<ChannelHandler, Future<QuicChannel>> opener;
    private final int max;
    private final long waitMillis;
    private final long acceptMillis;
    private final List<Lane> lanes = new ArrayList<>(); // on this
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>(); // on this
    private int opening; // on this: lanes opening now
    private boolean stopped; // on this: a lane failed, or the tunnel ended
    private ScheduledFuture<?> waitTimer; // on this
    // on this: a wait for the lanes opening ran out; no stream waits again until one is up
    private boolean waitedOut;

    /**
     * @param first the tunnel's connection, up
     * @param opener starts another connection over the same path with the given handler first in
     *     its pipeline (called on {@code first}'s loop)
     */
    public TunnelLanes(QuicChannel first, Function<ChannelHandler, Future<QuicChannel>> opener) {
        this(first, opener, maxLanes(), WAIT_MILLIS, ACCEPT_MILLIS);
    }

    /**
     * With {@code max} lanes at most, streams waiting {@code waitMillis} at most, lanes accepted
     * within {@code acceptMillis} (tests).
     */
    TunnelLanes(
            QuicChannel first,
            Function<ChannelHandler, Future<QuicChannel>> opener,
            int max,
            long waitMillis,
            long acceptMillis) {
        this.first = first;
        this.opener = opener;
        this.max = max;
        this.acceptMillis = acceptMillis;
        this.waitMillis = waitMillis;
        lanes.add(new Lane(first));
        first.closeFuture().addListener(f -> closeAll());
    }

    /**
     * Opens a stream, set up by {@code setup} (its type, options and handler), on the lane with the
     * fewest open streams; the lane counts it until it closes.
     */
    public Future<QuicStreamChannel> openStream(UnaryOperator<QuicStreamChannelBootstrap> setup) {
        Promise<QuicStreamChannel> done = first.eventLoop().newPromise();
        Lane lane;
        synchronized (this) {
            lane = place(false);
            if (lane == null) {
                waiting.add(new Waiting(setup, done));
                if (waitTimer == null)
                    waitTimer =
                            first.eventLoop()
                                    .schedule(() -> drain(true), waitMillis, TimeUnit.MILLISECONDS);
            }
        }
        if (lane != null) create(lane, setup, done);
        return done;
    }

    /** The lanes carrying streams now, the first included. */
    public synchronized int count() {
        return lanes.size();
    }

    /** Open streams on each lane now, the first's first (for tests and the debug log). */
    public synchronized int[] openStreams() {
        return lanes.stream().mapToInt(l -> l.open).toArray();
    }

    /**
     * The lane for a new stream, its place taken; or null when the stream should wait for a lane
     * that is opening (one is started if none is for it). {@code anyway}: never null.
     */
    private Lane place(boolean anyway) {
        Lane best = null;
        for (Lane l : lanes)
            if (l.quic.isActive() && (best == null || l.open < best.open)) best = l;
        if (best == null) best = lanes.get(0); // all closing: the stream fails as it would have
        boolean grows = !stopped && first.isActive() && lanes.size() + opening < max;
        if (!anyway && best.open >= STREAMS_PER_LANE) {
            // one more lane for each STREAMS_PER_LANE waiting
            if (grows && waiting.size() >= STREAMS_PER_LANE * opening) openLane();
            // wait for it, unless a wait for the lanes opening already ran out
            if (opening > 0 && !waitedOut) return null;
        }
        best.open++;
        return best;
    }

    /** Places the waiting streams that can go now (all of them: {@code anyway}). */
    private void drain(boolean anyway) {
        List<Runnable> go = new ArrayList<>();
        synchronized (this) {
            if (anyway) {
                waitTimer = null;
                // the lanes opening are slow (a lost word, a slow path): no more waits for them
                if (!waiting.isEmpty() && opening > 0) waitedOut = true;
            }
            while (!waiting.isEmpty()) {
                Lane lane = place(anyway);
                if (lane == null) break;
                Waiting w = waiting.poll();
                go.add(() -> create(lane, w.setup, w.done));
            }
            if (!waiting.isEmpty() && waitTimer == null)
                waitTimer =
                        first.eventLoop()
                                .schedule(() -> drain(true), waitMillis, TimeUnit.MILLISECONDS);
        }
        go.forEach(Runnable::run);
    }

    private void create(
            Lane lane,
            UnaryOperator<QuicStreamChannelBootstrap> setup,
            Promise<QuicStreamChannel> done) {
        Future<QuicStreamChannel> created;
        try {
            created = setup.apply(lane.quic.newStreamBootstrap()).create();
        } catch (RuntimeException e) {
            release(lane);
            done.tryFailure(e);
            return;
        }
        created.addListener(
                f -> {
                    if (f.isSuccess()) {
                        QuicStreamChannel stream = (QuicStreamChannel) f.getNow();
                        stream.closeFuture().addListener(c -> release(lane));
                        if (!done.trySuccess(stream)) stream.close();
                    } else {
                        release(lane);
                        done.tryFailure(f.cause());
                    }
                });
    }

    /** A stream of {@code lane} closed: its place goes to the first waiting stream, if any. */
    private void release(Lane lane) {
        boolean someWait;
        synchronized (this) {
            lane.open--;
            someWait = !waiting.isEmpty();
        }
        if (someWait) first.eventLoop().execute(() -> drain(false));
    }

    /** On this: starts one more lane. */
    private void openLane() {
        opening++;
        EventLoop loop = first.eventLoop();
        loop.execute(
                () -> {
                    Promise<QuicChannel> accepted = loop.newPromise();
                    ScheduledFuture<?> deadline =
                            loop.schedule(
                                    () ->
                                            accepted.tryFailure(
                                                    new IOException(
                                                            "not accepted within "
                                                                    + acceptMillis
                                                                    + " ms")),
                                    acceptMillis,
                                    TimeUnit.MILLISECONDS);
                    accepted.addListener(
                            a -> {
                                deadline.cancel(false);
                                synchronized (this) {
                                    opening--;
                                }
                                if (a.isSuccess()) added((QuicChannel) a.getNow());
                                else stop("a lane did not open: " + a.cause().getMessage());
                                drain(false);
                            });
                    Future<QuicChannel> opened;
                    try {
                        opened = opener.apply(new Acceptance(accepted));
                    } catch (RuntimeException e) {
                        accepted.tryFailure(e);
                        return;
                    }
                    // a lane not accepted is closed, even one whose handshake ends after that
                    opened.addListener(
                            f -> {
                                if (!f.isSuccess()) accepted.tryFailure(f.cause());
                                else
                                    accepted.addListener(
                                            a -> {
                                                if (!a.isSuccess())
                                                    ((QuicChannel) f.getNow()).close();
                                            });
                            });
                });
    }

    private void added(QuicChannel quic) {
        Lane lane = new Lane(quic);
        boolean late;
        synchronized (this) {
            late = stopped || !first.isActive();
            if (!late) {
                lanes.add(lane);
                waitedOut = false;
            }
        }
        if (late) {
            quic.close();
            return;
        }
        log.debug("tunnel: lane up, {} in all", count());
        quic.closeFuture()
                .addListener(
                        f -> {
                            synchronized (this) {
                                lanes.remove(lane);
                            }
                            if (first.isActive()) stop("a lane closed while the tunnel was up");
                        });
    }

    private void stop(String why) {
        synchronized (this) {
            if (stopped) return;
            stopped = true;
        }
        log.debug("tunnel: no more lanes: {}", why);
    }

    private void closeAll() {
        List<Lane> others;
        synchronized (this) {
            stopped = true;
            others = new ArrayList<>(lanes);
        }
        for (Lane l : others) if (l.quic != first) l.quic.close();
        drain(true); // the waiting streams fail on the closed lanes
    }

    /** First in a lane's pipeline: completes when the share's first DATAGRAM says it accepted. */
    private static final class Acceptance extends ChannelInboundHandlerAdapter {
        private final Promise<QuicChannel> accepted;

        Acceptance(Promise<QuicChannel> accepted) {
            this.accepted = accepted;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf) accepted.trySuccess((QuicChannel) ctx.channel());
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            accepted.tryFailure(new IOException("the share closed it"));
            ctx.fireChannelInactive();
        }
    }

    private static final class Lane {
        final QuicChannel quic;
        int open; // on the TunnelLanes

        Lane(QuicChannel quic) {
            this.quic = quic;
        }
    }

    private record Waiting(
            UnaryOperator<QuicStreamChannelBootstrap> setup, Promise<QuicStreamChannel> done) {}
}
