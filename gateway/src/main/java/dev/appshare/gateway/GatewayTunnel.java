package dev.appshare.gateway;

import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.PathSwitch;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.tunnel.KeepAliveHandler;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.TunnelClient;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.peer.tunnel.TunnelExceptionHandler;
import dev.appshare.peer.tunnel.TunnelLanes;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's tunnel to one public share: a QUIC client, as {@code connect}'s, pinned to the
 * share's registered key, over the server's own relay (no ICE: the gateway sits beside the relay).
 * Every visitor connection to the share is one stream of it.
 */
final class GatewayTunnel implements PathSwitch.Listener {
    private static final Logger log = LoggerFactory.getLogger(GatewayTunnel.class);

    /** How long the relay pairing and the QUIC handshake may take together. */
    static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

    private final String label;
    private final EventLoop loop;
    private PathCarrier carrier;
    private volatile QuicChannel quic;
    private volatile TunnelLanes lanes; // set just after quic
    private final TunnelClient.StreamsFromShare fromShare =
            new TunnelClient.StreamsFromShare(TunnelCodecs.MAX_STREAMS_FROM_SHARE_AT_GATEWAY);
    private int streams; // open visitor streams, on the gateway's tunnels lock
    private long idleSince = System.nanoTime();
    private volatile long upSince; // nanoTime when the handshake completed
    private volatile boolean lostEarly; // lost (not closed here) within SHORT_LIVED_MILLIS of up

    /**
     * A tunnel lost sooner than this after it came up counts as a failure: the share is not asked
     * again for {@link GatewayTunnels#RETRY_MILLIS}, and the loss is not logged at INFO. A share
     * that drops its relay connection on purpose otherwise had the gateway open a tunnel and log a
     * line for every visitor (about 60 ms of the server's CPU each).
     */
    static final long SHORT_LIVED_MILLIS = 10_000;

    private GatewayTunnel(String label, EventLoop loop) {
        this.label = label;
        this.loop = loop;
    }

    /**
     * Meets the share at {@code relay} with {@code token} and runs the QUIC handshake; the future
     * fails if either does not complete within {@link #HANDSHAKE_TIMEOUT_MILLIS}.
     */
    static Future<GatewayTunnel> open(
            String label,
            EventLoop loop,
            PeerIdentity identity,
            String shareFingerprint,
            InetSocketAddress relay,
            String token) {
        GatewayTunnel t = new GatewayTunnel(label, loop);
        Promise<GatewayTunnel> up = loop.newPromise();
        loop.execute(() -> t.start(identity, shareFingerprint, relay, token, up));
        return up;
    }

    private void start(
            PeerIdentity identity,
            String shareFingerprint,
            InetSocketAddress relay,
            String token,
            Promise<GatewayTunnel> up) {
        ChannelHandler codec =
                TunnelCodecs.client(
                        identity,
                        shareFingerprint,
                        true,
                        TunnelCodecs.MAX_STREAMS_FROM_SHARE_AT_GATEWAY);
        PathOptions relayOnly =
                new PathOptions(Transport.RELAY, List.of(), PathOptions.ICE_TIMEOUT_MILLIS, null);
        PathCarrier.Route route = new PathCarrier.Route(relay, token, relay, true, false);
        carrier = PathCarrier.open(loop, codec, relayOnly, route, kv -> {}, this);
        loop.schedule(
                () -> {
                    if (up.tryFailure(
                            new TimeoutException(
                                    "no tunnel within " + HANDSHAKE_TIMEOUT_MILLIS + " ms")))
                        close();
                },
                HANDSHAKE_TIMEOUT_MILLIS,
                TimeUnit.MILLISECONDS);
        carrier.ready()
                .addListener(
                        f -> {
                            if (!f.isSuccess()) {
                                up.tryFailure(f.cause());
                                close();
                                return;
                            }
                            TunnelClient.connect(
                                            carrier.udp(),
                                            fromShare,
                                            new KeepAliveHandler(),
                                            new TunnelExceptionHandler(
                                                    "gateway tunnel " + label, "share", () -> {}))
                                    .addListener(
                                            c -> {
                                                if (!c.isSuccess()) {
                                                    up.tryFailure(c.cause());
                                                    close();
                                                    return;
                                                }
                                                upSince = System.nanoTime();
                                                quic = (QuicChannel) c.getNow();
                                                lanes = new TunnelLanes(quic, this::openLane);
                                                quic.closeFuture()
                                                        .addListener(
                                                                x ->
                                                                        lost(
                                                                                "its QUIC"
                                                                                    + " connection"
                                                                                    + " closed"));
                                                if (!up.trySuccess(this)) close();
                                            });
                        });
    }

    /** Whether it was lost soon after it came up (a failure, as one that never came up). */
    boolean lostEarly() {
        return lostEarly;
    }

    /** Whether visitors' streams can still be opened on it. */
    boolean isUp() {
        QuicChannel q = quic;
        return q != null && q.isActive();
    }

    /**
     * A new bidirectional stream, not reading until the visitor's side is ready for what it reads.
     */
    Future<QuicStreamChannel> openStream(ChannelHandler handler) {
        return lanes.openStream(
                b ->
                        b.type(QuicStreamType.BIDIRECTIONAL)
                                .option(ChannelOption.AUTO_READ, false)
                                .handler(handler));
    }

    private Future<QuicChannel> openLane(ChannelHandler acceptance) {
        return TunnelClient.lane(
                carrier.udp(), fromShare, acceptance, "gateway tunnel " + label + " lane");
    }

    /** Open streams on each of its QUIC connections (TunnelLanes), for tests. */
    int[] testOnlyLaneStreams() {
        TunnelLanes l = lanes;
        return l == null ? new int[0] : l.openStreams();
    }

    String label() {
        return label;
    }

    /** The event loop its QUIC connection (and every stream of it) runs on. */
    EventLoop loop() {
        return loop;
    }

    /** Counts a visitor stream (under {@link GatewayTunnels}' lock). */
    void streamOpened() {
        streams++;
    }

    void streamClosed() {
        if (--streams == 0) idleSince = System.nanoTime();
    }

    /** Visitors' streams open (or opening) now; on the gateway's tunnels lock. */
    int openStreams() {
        return streams;
    }

    /** Whether no visitor has used it for {@code nanos} (under {@link GatewayTunnels}' lock). */
    boolean idleFor(long nanos, long now) {
        return streams == 0 && now - idleSince >= nanos;
    }

    @Override
    public void pathChanged(String description) {
        log.debug("gateway tunnel {}: {}", label, description);
    }

    @Override
    public void allPathsLost(String why) {
        lost(why);
    }

    /**
     * Lost, not closed here (idle, or the gateway stopping: that closes the relay connection too,
     * which then reports itself lost, not news): its relay connection, or the share's QUIC close.
     */
    private void lost(String why) {
        if (!closing) {
            long lived = System.nanoTime() - upSince;
            lostEarly = upSince != 0 && lived < TimeUnit.MILLISECONDS.toNanos(SHORT_LIVED_MILLIS);
            if (lostEarly)
                log.debug("gateway tunnel to {} lost soon after it came up: {}", label, why);
            else log.info("gateway tunnel to {} lost: {}", label, why);
        }
        close();
    }

    private volatile boolean closing;

    void close() {
        closing = true;
        loop.execute(
                () -> {
                    if (quic != null) quic.close();
                    if (carrier != null) carrier.close();
                });
    }

    /**
     * Each stream's window the share gives the gateway for the streams it opens (its transport
     * parameter), or -1 before the tunnel is up: what the gateway's quiche may buffer per visitor
     * stream.
     */
    long shareStreamWindow() {
        QuicChannel q = quic;
        if (q == null || q.peerTransportParameters() == null) return -1;
        return q.peerTransportParameters().initialMaxStreamDataBidiRemote();
    }
}
