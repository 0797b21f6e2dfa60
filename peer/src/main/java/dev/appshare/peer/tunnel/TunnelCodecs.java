package dev.appshare.peer.tunnel;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.quic.EpollQuicUtils;
import io.netty.handler.codec.quic.QuicChannelOption;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.SegmentedDatagramPacketAllocator;
import io.netty.handler.ssl.ClientAuth;
import java.util.concurrent.TimeUnit;

/**
 * Builds the QUIC codecs for the two ends of a tunnel, with one set of transport settings. The
 * sharer is the QUIC server; each side pins the other's key (mutual TLS 1.3, no CA).
 */
public final class TunnelCodecs {
    public static final String ALPN = "appshare/1";

    /**
     * One size for every path (quiche's limits are per connection): fits a relay frame and most
     * MTUs.
     */
    public static final int MAX_UDP_PAYLOAD = 1350;

    /**
     * The datagram size of a tunnel that can only ever use the relay (this side runs {@code
     * --transport relay}): a TCP stream has no MTU, and fewer, larger datagrams cost the codec and
     * both event loops less per byte. quiche fixes its sizes per connection, so a tunnel that may
     * move to a UDP path keeps {@link #MAX_UDP_PAYLOAD} for its whole life; each side advertises
     * (and sends) the larger size only when it will never send on UDP, so a tunnel uses it only
     * when both ends are relay-only. Fits {@code RelayDatagrams.MAX_DATAGRAM}.
     */
    public static final int RELAY_ONLY_PAYLOAD = 8000;

    public static final long IDLE_TIMEOUT_SECONDS = 30;

    /**
     * The connection-wide flow-control limit: the largest QUIC allows, so none in practice. quiche
     * counts a stream's received but unread bytes against the connection's window (at most 24 MiB
     * in the quiche netty bundles) and renews the window only when less than half of it is left:
     * two or three streams whose readers stopped (a paused download) froze every other stream of
     * the tunnel. What a tunnel buffers is bounded instead by each stream's window times the
     * streams paused, whose number {@code PausedStreams} bounds per process.
     */
    public static final long MAX_DATA = (1L << 62) - 1;

    /**
     * Each stream's flow-control window, each direction: what one stream may buffer unread (quiche
     * widens it up to 16 MiB for a reader that keeps up with a fast path).
     */
    public static final long MAX_STREAM_DATA = 6L << 20;

    /**
     * The share's window for the streams the public gateway opens in a gateway session (its
     * visitors' requests and uploads): what the gateway's quiche may buffer per stream before the
     * share has it. quiche takes a stream's bytes as long as the stream has credit (the connection
     * has no window, and its send capacity does not count what is buffered but unsent), so with
     * {@link #MAX_STREAM_DATA} 124 visitors' uploads held ~570 MiB of request bodies in a gateway
     * (native memory, outside the JVM's accounting); with 1 MiB, ~105 MiB (peak RSS 815 → 340 MiB).
     * quiche still widens the window for a reader that keeps up; only a large upload's first round
     * trip carries less.
     */
    public static final long GATEWAY_STREAM_DATA = 1L << 20;

    /** The streams connect's side may have open at once in the share (its TCP connections). */
    public static final long MAX_STREAMS = 100_000;

    /**
     * The streams the share may have open at once in {@code connect} or the gateway (the client
     * side; QUIC's limit is per connection, {@link TunnelClient.StreamsFromShare} holds the same
     * over a tunnel's lanes): the share opens only its end of an ICE restart's signals and abort
     * notices, each closed within a round trip. A share that opened more (one that stays silent
     * after a byte holds its stream) cost the connector about 2 KB each; QUIC's own stream limit
     * makes the share wait (its opens fail) until some close.
     */
    public static final long MAX_STREAMS_FROM_SHARE = 1_024;

    /**
     * The same for the gateway's tunnels, which take only abort notices: the gateway holds up to 96
     * tunnels, and 1,024 silent streams in each would cost it about 200 MB.
     */
    public static final long MAX_STREAMS_FROM_SHARE_AT_GATEWAY = 64;

    /**
     * Datagrams per GSO send: 32 × 1350 bytes stays under the 64 KiB a send may carry (more fails
     * every send with EMSGSIZE, which the codec drops silently).
     */
    public static final int GSO_SEGMENTS = 32;

    static {
        // Every GSO send must fit one UDP payload (the codec drops a failed send silently).
        if (GSO_SEGMENTS * MAX_UDP_PAYLOAD > 65_507) throw new AssertionError("GSO sends too big");
    }

    private TunnelCodecs() {}

    /**
     * How the codec hands its datagrams to the socket: with epoll, several per buffer for one GSO
     * send (the path layer splits them again for the relay); otherwise one each.
     */
    public static SegmentedDatagramPacketAllocator datagramAllocator() {
        return EventLoops.epoll() && !"false".equals(System.getProperty("appshare.gso"))
                ? EpollQuicUtils.newSegmentedAllocator(GSO_SEGMENTS)
                : SegmentedDatagramPacketAllocator.NONE;
    }

    /** The largest datagram this side sends and accepts. */
    public static int payloadSize(boolean relayOnly) {
        return relayOnly ? RELAY_ONLY_PAYLOAD : MAX_UDP_PAYLOAD;
    }

    private static <B extends QuicCodecBuilder<B>> B tune(B b, boolean relayOnly) {
        return b.maxIdleTimeout(IDLE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                .maxSendUdpPayloadSize(payloadSize(relayOnly))
                .maxRecvUdpPayloadSize(payloadSize(relayOnly))
                .initialMaxData(MAX_DATA)
                .initialMaxStreamDataBidirectionalLocal(MAX_STREAM_DATA)
                .initialMaxStreamDataBidirectionalRemote(MAX_STREAM_DATA)
                .initialMaxStreamsBidirectional(MAX_STREAMS)
                // BBR keeps the relay's TCP queue short; CUBIC fills it (see docs/architecture.md).
                .congestionControlAlgorithm(
                        QuicCongestionControlAlgorithm.valueOf(
                                System.getProperty("appshare.cc", "BBR")))
                // DATAGRAM frames carry the keep-alive; the addresses never change, so no
                // migration.
                .datagram(16, 16)
                .activeMigration(false);
    }

    public static ChannelHandler server(
            PeerIdentity self,
            String peerFingerprint,
            boolean relayOnly,
            ChannelHandler connectionHandler,
            ChannelHandler streamHandler) {
        return server(
                self,
                peerFingerprint,
                relayOnly,
                MAX_STREAM_DATA,
                connectionHandler,
                streamHandler);
    }

    /**
     * As above, with {@code peerStreamWindow} as each stream's window for the streams the other
     * peer opens ({@link #GATEWAY_STREAM_DATA} for the gateway's sessions).
     */
    public static ChannelHandler server(
            PeerIdentity self,
            String peerFingerprint,
            boolean relayOnly,
            long peerStreamWindow,
            ChannelHandler connectionHandler,
            ChannelHandler streamHandler) {
        QuicSslContext ssl =
                QuicSslContextBuilder.forServer(new PeerKeyManager(self), null)
                        .trustManager(new PinnedKeyTrustManager(peerFingerprint))
                        .clientAuth(ClientAuth.REQUIRE)
                        .applicationProtocols(ALPN)
                        .build();
        return tune(new QuicServerCodecBuilder(), relayOnly)
                .initialMaxStreamDataBidirectionalRemote(peerStreamWindow)
                .option(QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR, datagramAllocator())
                .sslContext(ssl)
                .tokenHandler(
                        null) // no Retry: the peer was vouched for by the rendezvous, the path is
                // ours
                .handler(connectionHandler)
                .streamOption(ChannelOption.AUTO_READ, false)
                .streamOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .streamHandler(streamHandler)
                .build();
    }

    /**
     * Loads QUIC's native library (quiche and BoringSSL, extracted from the jar) and builds one
     * throwaway client codec, so that the first real {@link #client} costs little: on a cold JVM
     * the first costs hundreds of ms. For a background thread while the rendezvous answers. (The
     * throwaway codec is never added to a channel, so its quiche configuration, a few hundred bytes
     * of native memory, is never freed: once per process.)
     */
    public static void warmUp(PeerIdentity self) {
        client(self, "0".repeat(64), false);
    }

    public static ChannelHandler client(
            PeerIdentity self, String peerFingerprint, boolean relayOnly) {
        return client(self, peerFingerprint, relayOnly, MAX_STREAMS_FROM_SHARE);
    }

    /** As {@link #client}, letting the share have {@code streamsFromShare} streams open at once. */
    public static ChannelHandler client(
            PeerIdentity self, String peerFingerprint, boolean relayOnly, long streamsFromShare) {
        QuicSslContext ssl =
                QuicSslContextBuilder.forClient()
                        .keyManager(new PeerKeyManager(self), null)
                        .trustManager(new PinnedKeyTrustManager(peerFingerprint))
                        .endpointIdentificationAlgorithm(null)
                        .applicationProtocols(ALPN)
                        .build();
        return tune(new QuicClientCodecBuilder(), relayOnly)
                .initialMaxStreamsBidirectional(streamsFromShare)
                .sslContext(ssl)
                .build();
    }
}
