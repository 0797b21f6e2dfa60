package dev.appshare.peer.connect;

import dev.appshare.peer.Console;
import dev.appshare.peer.Timeline;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.path.HandshakeDeadline;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.PathSwitch;
import dev.appshare.peer.tunnel.KeepAliveHandler;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.TunnelClient;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.peer.tunnel.TunnelExceptionHandler;
import dev.appshare.peer.tunnel.TunnelLanes;
import dev.appshare.wire.net.LineBudget;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicConnectionCloseEvent;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connector's side of the tunnel: a QUIC client over the path layer. Each local TCP connection
 * becomes one stream, so connections never wait for each other or for the rendezvous.
 */
public final class ConnectorTunnel implements PathSwitch.Listener {
    private static final Logger log = LoggerFactory.getLogger(ConnectorTunnel.class);
    public static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    private static final AtomicLong COUNTER = new AtomicLong();

    private final Connector owner;
    private final EventLoop loop;
    private final Console console;
    private PathCarrier carrier;
    private QuicChannel quic;
    private volatile TunnelLanes lanes; // set with quic
    private final TunnelClient.StreamsFromShare fromShare =
            new TunnelClient.StreamsFromShare(TunnelCodecs.MAX_STREAMS_FROM_SHARE);
    private String closeReason;
    private boolean closed;
    private volatile String path; // the last Path: line's description, for the status line
    private volatile long rttNanos = -1; // QUIC's smoothed round trip, refreshed by rttMillis()

    ConnectorTunnel(Connector owner, EventLoop loop, Console console) {
        this.owner = owner;
        this.loop = loop;
        this.console = console;
    }

    Future<QuicChannel> open(
            PeerIdentity identity,
            String peerFingerprint,
            PathCarrier.Route route,
            PathOptions options,
            IceSession.Signals signals) {
        Promise<QuicChannel> up = loop.newPromise();
        ChannelHandler codec =
                TunnelCodecs.client(identity, peerFingerprint, !options.usesDirect());
        Timeline.mark("QUIC codec built");
        carrier = PathCarrier.open(loop, codec, options, route, signals, this);
        carrier.ready()
                .addListener(
                        f -> {
                            if (!f.isSuccess()) {
                                up.tryFailure(f.cause());
                                return;
                            }
                            Timeline.mark("path ready (relay paired)");
                            TunnelClient.connect(
                                            carrier.udp(),
                                            fromShare,
                                            new KeepAliveHandler(),
                                            new CloseReason(),
                                            // the failed connect ends the tunnel
                                            new TunnelExceptionHandler("tunnel", "share", () -> {}))
                                    .addListener(
                                            c -> {
                                                if (c.isSuccess()) {
                                                    Timeline.mark("QUIC handshake done");
                                                    quic = (QuicChannel) c.getNow();
                                                    lanes = new TunnelLanes(quic, this::openLane);
                                                    // the tunnel is up: now look for the direct
                                                    // path, and again later if need be
                                                    carrier.startIce();
                                                    carrier.tunnelUp(quic);
                                                    if (!up.trySuccess(quic)) quic.close();
                                                    quic.closeFuture()
                                                            .addListener(
                                                                    x ->
                                                                            loop.execute(
                                                                                    this::closed));
                                                } else {
                                                    carrier.close();
                                                    up.tryFailure(c.cause());
                                                }
                                            });
                        });
        // The deadline waits while ICE works (HandshakeDeadline): the relay may never pair, and
        // without a relay ICE is the only way the handshake can get through.
        long opened = System.nanoTime();
        HandshakeDeadline deadline =
                HandshakeDeadline.start(
                        loop,
                        carrier,
                        HANDSHAKE_TIMEOUT_MILLIS,
                        () -> {
                            long waited = (System.nanoTime() - opened) / 1_000_000;
                            if (up.tryFailure(
                                    new TimeoutException(
                                            "no tunnel handshake within " + waited + " ms"))) {
                                close();
                            }
                        });
        up.addListener(x -> deadline.cancel());
        return up;
    }

    private Future<QuicChannel> openLane(ChannelHandler acceptance) {
        return TunnelClient.lane(carrier.udp(), fromShare, acceptance, "tunnel lane");
    }

    /** Carries one accepted local connection over a new stream to the port it asks for. */
    void openStream(Channel local, Connector.Forward forward) {
        long id = COUNTER.incrementAndGet();
        long started = System.nanoTime();
        lanes.openStream(
                        b ->
                                b.type(QuicStreamType.BIDIRECTIONAL)
                                        .option(ChannelOption.AUTO_READ, false)
                                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                                        .handler(new RefusedPort(id, forward)))
                .addListener(
                        f -> {
                            if (!f.isSuccess()) {
                                log.info(
                                        "local connection #{} closed: cannot open a stream: {}",
                                        id,
                                        f.cause().getMessage());
                                local.close();
                                return;
                            }
                            QuicStreamChannel stream = (QuicStreamChannel) f.getNow();
                            StreamAborts.track(stream);
                            Timeline.mark("first stream open");
                            stream.writeAndFlush(Unpooled.wrappedBuffer(forward.preamble()));
                            local.pipeline().addFirst(owner.pausedStreams().watch());
                            SpliceHandler.Pair splice = SpliceHandler.join(local, stream);
                            owner.traffic().track(local, splice.fromA(), splice.fromB());
                            log.debug(
                                    "local connection #{} from {} on stream {}",
                                    id,
                                    local.remoteAddress(),
                                    stream.streamId());
                            local.closeFuture()
                                    .addListener(
                                            c ->
                                                    log.debug(
                                                            "local connection #{} closed: {} bytes"
                                                                    + " out, {} in, {} ms",
                                                            id,
                                                            splice.fromA().bytes(),
                                                            splice.fromB().bytes(),
                                                            (System.nanoTime() - started)
                                                                    / 1_000_000));
                        });
    }

    /** The control connection dropped: a first negotiation still running restarts at once. */
    void controlLost() {
        if (carrier != null) carrier.controlLost();
    }

    /** ICE signalling from the share. */
    void signal(RendezvousMessage m) {
        if (carrier != null) carrier.signal(m);
    }

    boolean isUp() {
        return lanes != null && quic.isActive();
    }

    /** Open streams on each of the tunnel's QUIC connections (TunnelLanes); empty before. */
    int[] laneStreams() {
        TunnelLanes l = lanes;
        return l == null ? new int[0] : l.openStreams();
    }

    /** The path carrying the tunnel now, as the last Path: line said, or null before one. */
    String path() {
        return path;
    }

    /**
     * QUIC's smoothed round trip on the tunnel's path in ms, as last collected (-1 before), and
     * asks for a fresh one for the next call; any thread.
     */
    long rttMillis() {
        QuicChannel q = quic;
        if (q != null && q.isActive()) {
            q.collectPathStats(0)
                    .addListener(
                            f -> {
                                if (f.isSuccess())
                                    rttNanos =
                                            ((io.netty.handler.codec.quic.QuicConnectionPathStats)
                                                            f.getNow())
                                                    .rtt();
                            });
        }
        long r = rttNanos;
        return r < 0 ? -1 : Math.round(r / 1e6);
    }

    @Override
    public void pathChanged(String description) {
        path = description;
        console.line("Path: " + description);
        Timeline.mark("Path: " + description.split(" ", 2)[0] + " printed");
    }

    @Override
    public void allPathsLost(String why) {
        if (closeReason == null) closeReason = why;
        close();
    }

    void close() {
        loop.execute(
                () -> {
                    if (quic != null) quic.close();
                    if (carrier != null) carrier.close();
                });
    }

    private void closed() {
        if (closed) return;
        closed = true;
        if (carrier != null) carrier.close();
        owner.tunnelClosed(this, closeReason != null ? closeReason : "the tunnel closed");
    }

    /** Learns why the sharer closed the connection, for the log line. */
    private final class CloseReason extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof QuicConnectionCloseEvent e && e.isApplicationClose()) {
                String reason =
                        NetworkText.printable(new String(e.reason(), StandardCharsets.UTF_8));
                closeReason = reason.isEmpty() ? "the share closed the tunnel" : reason;
            }
            ctx.fireUserEventTriggered(evt);
        }
    }

    // "refused: the share is busy" and "reset: late" lines: one each at a human rate, then a count
    private static final LineBudget BUSY_LINES = LineBudget.atHumanRate();

    /**
     * Says, in one line, that the share refused a stream because it does not expose the port asked
     * for (a reset with {@link StreamPreamble#REFUSED_ERROR}), because it holds its most
     * connections ({@link StreamPreamble#BUSY_ERROR}), or because the stream's first bytes did not
     * reach it in time ({@link StreamPreamble#LATE_ERROR}); the splice then closes the local
     * connection as for any reset.
     */
    private static final class RefusedPort extends ChannelInboundHandlerAdapter {
        private final long id;
        private final Connector.Forward forward;

        RefusedPort(long id, Connector.Forward forward) {
            this.id = id;
            this.forward = forward;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof QuicStreamResetException e
                    && e.applicationProtocolCode() == StreamPreamble.REFUSED_ERROR) {
                log.warn(
                        "local connection #{} refused: the share does not expose port {}",
                        id,
                        forward.remote());
            } else if (cause instanceof QuicStreamResetException e
                    && e.applicationProtocolCode() == StreamPreamble.BUSY_ERROR) {
                long skipped = BUSY_LINES.take();
                if (skipped >= 0)
                    log.warn(
                            "local connection #{} refused: the share holds its most connections{}",
                            id,
                            LineBudget.since(skipped, "refused"));
            } else if (cause instanceof QuicStreamResetException e
                    && e.applicationProtocolCode() == StreamPreamble.LATE_ERROR) {
                long skipped = BUSY_LINES.take();
                if (skipped >= 0)
                    log.warn(
                            "local connection #{} reset: its first bytes did not reach the share"
                                    + " in time (the path stalled?){}",
                            id,
                            LineBudget.since(skipped, "refused or reset"));
            }
            ctx.fireExceptionCaught(cause);
        }
    }
}
