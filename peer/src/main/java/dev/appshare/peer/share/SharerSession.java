package dev.appshare.peer.share;

import dev.appshare.peer.path.HandshakeDeadline;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.PathSwitch;
import dev.appshare.peer.tunnel.KeepAliveHandler;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.SharedTargets;
import dev.appshare.peer.tunnel.StreamBudget;
import dev.appshare.peer.tunnel.TargetDialHandler;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.peer.tunnel.TunnelExceptionHandler;
import dev.appshare.peer.tunnel.TunnelLanes;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sharer's side of one connector: a QUIC server for exactly that connector's key, on its own
 * UDP channel and relay path. Each stream the connector opens becomes a connection to the shared
 * port. The tunnel is up when a QUIC handshake completes (the connector's key checked), not when
 * its first Initial arrives: netty's server codec creates the connection's channel then, and a
 * connector silent after its Initial must still meet the handshake deadline; one whose handshake
 * fails on its key ends the session at once. The first connection is the tunnel; later ones are its
 * lanes (TunnelLanes), at most {@link TunnelLanes#MAX_LANES} in all, whose ends never end the
 * session.
 */
public final class SharerSession implements PathSwitch.Listener {
    private static final Logger log = LoggerFactory.getLogger(SharerSession.class);
    public static final long HANDSHAKE_TIMEOUT_MILLIS = 20_000;

    private final Sharer owner;
    private final String id;
    private final EventLoop loop;
    private final long handshakeTimeoutMillis;
    private String peer = "connector"; // "gateway" for a public share's gateway session
    private PathCarrier carrier;
    private QuicChannel quic;
    private final List<QuicChannel> lanes = new ArrayList<>(); // the tunnel's others (TunnelLanes)
    private boolean lanesRefused; // one line for them
    private volatile HandshakeDeadline handshakeDeadline; // set on the signalling loop
    private boolean closed;
    private volatile boolean tunnelUp; // for the status line
    private volatile boolean direct; // the path carrying it is the direct one

    SharerSession(Sharer owner, String id, EventLoop loop) {
        this(owner, id, loop, HANDSHAKE_TIMEOUT_MILLIS);
    }

    /** {@code handshakeTimeoutMillis}: tests shorten the deadline; the share uses the default. */
    SharerSession(Sharer owner, String id, EventLoop loop, long handshakeTimeoutMillis) {
        this.owner = owner;
        this.id = id;
        this.loop = loop;
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
    }

    String id() {
        return id;
    }

    /** Names the other side in the log lines: the public gateway rather than a connector. */
    SharerSession forGateway() {
        peer = "gateway";
        return this;
    }

    void start(
            PeerIdentity identity,
            String peerFingerprint,
            PathCarrier.Route route,
            PathOptions options,
            SharedTargets targets) {
        StreamBudget.Session streams = owner.streamBudget().session();
        ChannelHandler codec =
                TunnelCodecs.server(
                        identity,
                        peerFingerprint,
                        !options.usesDirect(),
                        "gateway".equals(peer)
                                ? TunnelCodecs.GATEWAY_STREAM_DATA
                                : TunnelCodecs.MAX_STREAM_DATA,
                        new ChannelInitializer<QuicChannel>() {
                            @Override
                            protected void initChannel(QuicChannel ch) {
                                ch.pipeline()
                                        .addLast(
                                                new KeepAliveHandler(),
                                                new HandshakeDone(),
                                                new TunnelExceptionHandler(
                                                        "session " + id,
                                                        peer,
                                                        SharerSession.this::handshakeFailed));
                            }
                        },
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                ch.pipeline()
                                        .addLast(
                                                new TargetDialHandler(
                                                        targets,
                                                        id,
                                                        owner.traffic(),
                                                        owner.pausedStreams(),
                                                        "gateway".equals(peer),
                                                        streams));
                            }
                        });
        carrier =
                PathCarrier.open(
                        loop,
                        codec,
                        options,
                        route,
                        kv -> owner.signalling().sendSignal(id, kv),
                        this);
        // Waits while ICE works (HandshakeDeadline): the connector's relay may never pair.
        handshakeDeadline =
                HandshakeDeadline.start(
                        loop,
                        carrier,
                        handshakeTimeoutMillis,
                        () -> {
                            if (quic != null || closed) return;
                            log.warn(
                                    "session {}: the {} did not complete the tunnel"
                                            + " handshake in time",
                                    id,
                                    peer);
                            close(null);
                        });
        carrier.ready()
                .addListener(
                        f -> {
                            if (f.isCancelled()) return; // the session closed its carrier
                            if (!f.isSuccess()) {
                                log.warn(
                                        "session {}: no path to the {}: {}",
                                        id,
                                        peer,
                                        f.cause().getMessage());
                                close(null);
                            }
                        });
    }

    /** netty's QUIC fires channelActive on a connection once its handshake has completed. */
    private final class HandshakeDone extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            connected((QuicChannel) ctx.channel());
            ctx.fireChannelActive();
        }
    }

    private void connected(QuicChannel ch) {
        if (closed) {
            ch.close();
            return;
        }
        if (quic != null) {
            lane(ch);
            return;
        }
        quic = ch;
        tunnelUp = true;
        HandshakeDeadline d = handshakeDeadline;
        if (d != null) d.cancel();
        log.info("session {}: tunnel up with the {}", id, peer);
        carrier.tunnelUp(ch); // ICE restarts' signals go inside the tunnel from now on
        ch.closeFuture()
                .addListener(
                        f ->
                                loop.execute(
                                        () -> {
                                            if (!closed)
                                                log.info("session {}: the {} left", id, peer);
                                            close(null);
                                        }));
    }

    /**
     * Another connection once the tunnel is up: one of its lanes (TunnelLanes), up to {@link
     * TunnelLanes#MAX_LANES} in all. Its streams reach the same ports under the same budget; its
     * end is not the session's.
     */
    private void lane(QuicChannel ch) {
        if (1 + lanes.size() >= TunnelLanes.MAX_LANES) {
            if (!lanesRefused)
                log.warn(
                        "session {}: refusing QUIC connections past the {}'s {}",
                        id,
                        peer,
                        TunnelLanes.MAX_LANES);
            lanesRefused = true;
            ch.close();
            return;
        }
        lanes.add(ch);
        log.debug("session {}: lane {} up", id, lanes.size() + 1);
        ch.writeAndFlush(Unpooled.wrappedBuffer(TunnelLanes.ACCEPTED));
        ch.closeFuture().addListener(f -> loop.execute(() -> lanes.remove(ch)));
    }

    /**
     * A connection's handshake failed (its key is not the connector's): with no tunnel up, the
     * session cannot succeed (it is bound to that key, and the connector opens lanes only once its
     * first connection is up), so it ends now rather than at the deadline. With a tunnel up, only
     * that connection closes.
     */
    private void handshakeFailed() {
        if (quic == null) close(null);
    }

    /** Whether a tunnel is up in this session now, for the status line; any thread. */
    boolean isUp() {
        return tunnelUp;
    }

    /** Whether the direct path carries this session's tunnel now; any thread. */
    boolean isDirect() {
        return direct;
    }

    /** QUIC connections up in the tunnel, the first included (on the session's loop; tests). */
    int testOnlyLanes() {
        return 1 + lanes.size();
    }

    /** Whether a QUIC connection ever completed its handshake in this session. */
    boolean testOnlyTunnelWasUp() {
        return quic != null;
    }

    /** The control connection dropped: a first negotiation still running restarts at once. */
    void controlLost() {
        if (carrier != null) carrier.controlLost();
    }

    /**
     * The control connection came back after a drop: signals of a negotiation may have been lost on
     * the way, so ICE runs again unless a direct path carries.
     */
    void controlBack() {
        if (carrier != null) carrier.nudge("the rendezvous connection came back");
    }

    /** ICE signalling from the connector. */
    void signal(RendezvousMessage m) {
        if (carrier != null) carrier.signal(m);
    }

    @Override
    public void pathChanged(String description) {
        direct = description.startsWith("direct");
        log.info("session {}: path {}", id, description);
    }

    @Override
    public void allPathsLost(String why) {
        if (!closed) log.info("session {}: tunnel lost: {}", id, why);
        close(null);
    }

    /** Ends the session; with a reason, the connector is told it in QUIC's CONNECTION_CLOSE. */
    void close(String reason) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> close(reason));
            return;
        }
        if (closed) return;
        closed = true;
        tunnelUp = false;
        HandshakeDeadline d = handshakeDeadline;
        if (d != null) d.cancel();
        for (QuicChannel lane : List.copyOf(lanes)) lane.close(); // the tunnel's end is theirs
        Channel q = quic;
        if (q != null && q.isActive() && reason != null) {
            // Let CONNECTION_CLOSE leave through the path before the path itself goes.
            ((QuicChannel) q)
                    .close(true, 0, Unpooled.copiedBuffer(reason, StandardCharsets.UTF_8))
                    .addListener(f -> loop.schedule(this::closeCarrier, 50, TimeUnit.MILLISECONDS));
        } else {
            if (q != null) q.close();
            closeCarrier();
        }
        owner.sessionEnded(this);
    }

    private void closeCarrier() {
        if (carrier != null) carrier.close();
    }
}
