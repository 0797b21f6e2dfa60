package dev.appshare.peer.tunnel;

import dev.appshare.peer.Traffic;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.LineBudget;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.tunnel.PausedStreams;
import dev.appshare.wire.tunnel.PeerControlStream;
import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.ReferenceCountUtil;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sharer's end of one tunnelled connection: reads the stream's preamble, dials the shared port
 * it asks for (a port the share does not expose resets the stream with {@link
 * StreamPreamble#REFUSED_ERROR}), then splices the stream and the new TCP connection. If the port
 * refuses, the stream is reset at once (the connector's client sees its connection reset, as a
 * refused connection would be) and the reason is logged here.
 */
public final class TargetDialHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TargetDialHandler.class);
    private static final AtomicLong COUNTER = new AtomicLong();
    // A connector that holds the code could otherwise fill the share's log, one line a stream.
    private static final RejectionLog REFUSALS =
            new RejectionLog(log, RejectionLog.INTERVAL_NANOS, System::nanoTime);
    private static final RejectionLog UNREACHED =
            new RejectionLog(log, RejectionLog.INTERVAL_NANOS, System::nanoTime);

    // Closes and failed dials of a connector's connections: one line each at a human rate, a
    // count past it (a connector with the code opens as many as it likes).
    private static final LineBudget CLOSE_LINES = LineBudget.atHumanRate();
    private static final LineBudget DIAL_LINES = LineBudget.atHumanRate();
    public static final int CONNECT_TIMEOUT_MILLIS = 5000;

    /**
     * How long a stream may take to send its preamble (and an abort notice to end): then it is
     * reset with {@link StreamPreamble#LATE_ERROR} (a notice is closed). A connector's {@code
     * connect} sends it with the stream's first bytes; one that sent a byte of it and then nothing
     * held its stream, and the memory the share keeps for it, for the tunnel's life.
     */
    public static final long PREAMBLE_MILLIS = 10_000;

    private final SharedTargets targets;
    private final String session;
    private final Traffic traffic;
    private final PausedStreams paused;
    private final boolean visitors; // the gateway's session: strangers choose how many streams
    private final StreamBudget.Session budget; // null: none (tests)
    private ScheduledFuture<?> preambleDeadline;
    private boolean noticeTaken; // an abort notice, taken: only its end is awaited
    private String controlOnly; // over the budget: why; only a control stream may go on
    private boolean opened;
    private ByteBuf early;
    private boolean inputShut;
    private Channel dialing; // the TCP connection being made, until it is spliced

    public TargetDialHandler(SharedTargets targets, String session) {
        this(
                targets,
                session,
                new Traffic(),
                PausedStreams.warningTo(log, "connection to"),
                false,
                null);
    }

    /**
     * {@code traffic} counts the bytes each spliced connection moves (for the status line); {@code
     * paused} bounds the connections whose application stopped reading.
     */
    public TargetDialHandler(
            SharedTargets targets, String session, Traffic traffic, PausedStreams paused) {
        this(targets, session, traffic, paused, false, null);
    }

    /**
     * @param visitors whether the streams are a public share's visitors (the gateway's session):
     *     each visitor connection or HTTP/2 request is a stream, so strangers decide how many there
     *     are, and a line per connection would let them fill the sharer's log. Their closes are
     *     logged at DEBUG, and failed dials once per {@link RejectionLog#INTERVAL_NANOS} with a
     *     count.
     * @param budget the session's part of the share's {@link StreamBudget}: a stream over it is
     *     reset with {@link StreamPreamble#BUSY_ERROR}; null for none
     */
    public TargetDialHandler(
            SharedTargets targets,
            String session,
            Traffic traffic,
            PausedStreams paused,
            boolean visitors,
            StreamBudget.Session budget) {
        this.targets = targets;
        this.session = session;
        this.traffic = traffic;
        this.paused = paused;
        this.visitors = visitors;
        this.budget = budget;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // First, refused or not: netty forgets a stream only if told to when it closes.
        if (ctx.channel() instanceof QuicStreamChannel stream) StreamAborts.track(stream);
        if (budget != null) {
            String over = budget.admit();
            if (over == null) {
                ctx.channel().closeFuture().addListener(f -> budget.release());
            } else if (budget.admitControl()) {
                // It may still be an abort notice or the signal stream, which must not be lost
                // to a full budget: its preamble says (within the deadline).
                controlOnly = over;
                ctx.channel().closeFuture().addListener(f -> budget.releaseControl());
            } else {
                refuse(ctx, "a stream: " + over + "; reset", StreamPreamble.BUSY_ERROR);
                return;
            }
        }
        preambleDeadline =
                ctx.executor()
                        .schedule(() -> preambleLate(ctx), PREAMBLE_MILLIS, TimeUnit.MILLISECONDS);
        // One read before the splice (another only if it came back empty): at most one chunk is
        // held.
        ctx.read();
        ctx.fireChannelActive();
    }

    /** The deadline of {@link #PREAMBLE_MILLIS}: still here, neither dialling nor spliced. */
    private void preambleLate(ChannelHandlerContext ctx) {
        preambleDeadline = null;
        if (ctx.isRemoved() || opened || !ctx.channel().isActive()) return;
        if (noticeTaken) {
            // Its output is shut already: an abort would send a notice about the notice.
            log.debug("session {}: an abort notice that did not end: closed", session);
            ctx.close();
            return;
        }
        refuse(
                ctx,
                "a stream whose preamble did not come within "
                        + PREAMBLE_MILLIS / 1000
                        + " s: reset",
                StreamPreamble.LATE_ERROR);
    }

    /** Logs (once per interval, with a count) and resets a stream with {@code error}. */
    private void refuse(ChannelHandlerContext ctx, String what, int error) {
        REFUSALS.refused(what, "session " + session);
        SpliceHandler.abort(ctx.channel(), error);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (opened) {
            // Cannot happen with one read requested; keep the bytes rather than lose them if it
            // does.
            early =
                    early == null
                            ? buf
                            : ctx.alloc().compositeBuffer().addComponents(true, early, buf);
            return;
        }
        // The preamble is at most MAX_LENGTH bytes: hold chunks only until it is complete.
        early = early == null ? buf : ctx.alloc().compositeBuffer().addComponents(true, early, buf);
        StreamPreamble.Request request;
        try {
            request = StreamPreamble.decode(early);
        } catch (IllegalArgumentException e) {
            early.release();
            early = null;
            refuse(ctx, "a stream with an unknown preamble: reset", SpliceHandler.ABORT_ERROR);
            return;
        }
        if (request == null) {
            ctx.read();
            return;
        }
        if (controlOnly != null
                && !PeerControlStream.opens(request.kind())
                && request.kind() != StreamPreamble.ABORT_STREAM) {
            early.release();
            early = null;
            refuse(ctx, "a stream: " + controlOnly + "; reset", StreamPreamble.BUSY_ERROR);
            return;
        }
        if (PeerControlStream.opens(request.kind())) {
            ByteBuf rest = early;
            early = null;
            ctx.pipeline().remove(this);
            // the connector's ICE restart signals, or how its streams ended
            PeerControlStream.take(ctx.channel(), request.kind(), rest);
            return;
        }
        if (request.kind() == StreamPreamble.ABORT_STREAM) {
            early.release();
            early = null;
            if (!(ctx.channel() instanceof QuicStreamChannel notice)) {
                ctx.close();
                return;
            }
            noticeTaken = true;
            if (StreamAborts.take(notice, request.stream())) {
                log.debug("session {}: the connector aborted stream {}", session, request.stream());
            }
            ctx.read(); // for the connector's FIN: then the notice stream closes
            return;
        }
        SharedTarget target = targets.pick(request);
        if (target == null) {
            early.release();
            early = null;
            refuse(
                    ctx,
                    "a stream for port "
                            + request.port()
                            + ": not shared (shared: "
                            + targets.ports()
                            + ")",
                    StreamPreamble.REFUSED_ERROR);
            return;
        }
        opened = true;
        dial(ctx, (QuicStreamChannel) ctx.channel(), target);
    }

    private void dial(ChannelHandlerContext ctx, QuicStreamChannel stream, SharedTarget target) {
        long id = COUNTER.incrementAndGet();
        long started = System.nanoTime();
        InetSocketAddress address = target.address();
        ChannelFuture connect =
                new Bootstrap()
                        .group(stream.eventLoop())
                        .channel(EventLoops.socket())
                        .option(ChannelOption.AUTO_READ, false)
                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, CONNECT_TIMEOUT_MILLIS)
                        .handler(new ChannelInboundHandlerAdapter())
                        .connect(address);
        dialing = connect.channel();
        connect.addListener(
                (ChannelFutureListener) f -> dialed(ctx, stream, target, f, id, address, started));
    }

    /** On the stream's loop, which is also the new connection's. */
    private void dialed(
            ChannelHandlerContext ctx,
            QuicStreamChannel stream,
            SharedTarget target,
            ChannelFuture f,
            long id,
            InetSocketAddress address,
            long started) {
        ByteBuf held = early;
        early = null;
        dialing = null;
        Channel tcp = f.channel();
        if (held == null) {
            // The stream closed while the dial was in flight: handlerRemoved released the bytes
            // and closed the dial.
            tcp.close();
            return;
        }
        if (!f.isSuccess()) {
            held.release();
            String why =
                    "cannot reach "
                            + target.text()
                            + " ("
                            + HostPort.literal(address)
                            + "): "
                            + dialFailure(f.cause());
            if (visitors) {
                UNREACHED.refused(why, "a visitor's connection #" + id);
            } else {
                long skipped = DIAL_LINES.take();
                if (skipped < 0) log.debug("connection #{}: {}", id, why);
                else log.info("connection #{}: {}{}", id, why, LineBudget.since(skipped, "failed"));
            }
            target.dialFailed(address);
            // Reset, not FIN: the client on the connect side then sees its connection reset, as
            // a refused connection would be, instead of a clean end it could take for an answer.
            SpliceHandler.abort(stream);
            return;
        }
        if (!stream.isActive()) {
            held.release();
            tcp.close();
            return;
        }
        log.debug(
                "connection #{} opened (session {}, stream {}) to {}",
                id,
                session,
                stream.streamId(),
                HostPort.literal(address));
        if (held.isReadable()) tcp.writeAndFlush(held);
        else held.release();
        ctx.pipeline().remove(this);
        tcp.pipeline().addFirst(paused.watch());
        SpliceHandler.Pair splice = SpliceHandler.join(stream, tcp);
        traffic.track(tcp, splice.fromB(), splice.fromA()); // out: the target's bytes
        if (inputShut) {
            // The connector half-closed before the splice existed: pass the FIN on now.
            stream.eventLoop()
                    .execute(
                            () ->
                                    stream.pipeline()
                                            .fireUserEventTriggered(
                                                    ChannelInputShutdownEvent.INSTANCE));
        }
        tcp.closeFuture()
                .addListener(
                        c -> {
                            String line = "connection #{} closed: {} bytes in, {} out, {} ms";
                            long ms = (System.nanoTime() - started) / 1_000_000;
                            long in = splice.fromA().bytes(), out = splice.fromB().bytes();
                            long skipped = visitors ? -1 : CLOSE_LINES.take();
                            if (skipped < 0) log.debug(line, id, in, out, ms);
                            else
                                log.info(
                                        line + "{}",
                                        id,
                                        in,
                                        out,
                                        ms,
                                        LineBudget.since(skipped, "closed"));
                        });
    }

    /**
     * Why a dial of the shared port failed, for the log line. netty's own connect timeout is a
     * {@link ConnectException} too, so it is told apart first: a port that never answers is not a
     * refusal.
     */
    static String dialFailure(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return "timed out after " + CONNECT_TIMEOUT_MILLIS / 1000 + " s";
        }
        if (cause instanceof ConnectException) {
            return "connection refused — is the shared app running?";
        }
        return cause.getMessage();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) inputShut = true;
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Runs when the splice replaces this handler, and when the stream closes (its pipeline is torn
     * down): then a dial still in flight is abandoned, so that no connection to the shared port is
     * left open with nothing at the other end.
     */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (preambleDeadline != null) {
            preambleDeadline.cancel(false);
            preambleDeadline = null;
        }
        if (early != null) {
            early.release();
            early = null;
        }
        if (dialing != null) {
            dialing.close();
            dialing = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug(
                "session {}: stream failed before its connection was made: {}",
                session,
                cause.toString());
        ctx.close();
    }
}
