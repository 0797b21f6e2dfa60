package dev.appshare.peer.tunnel;

import dev.appshare.peer.path.VirtualAddresses;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.tunnel.StreamAborts;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicChannelOption;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamRelease;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client side of a tunnel's QUIC connection, as {@code connect} and the public gateway open it:
 * over a path carrier's UDP channel (its codec built by {@link TunnelCodecs#client}), from and to
 * the virtual addresses the path layer maps, with GSO batches, and streams from the share read only
 * for abort notices (the share opens none of its own).
 */
public final class TunnelClient {
    private TunnelClient() {}

    /**
     * Starts the handshake; the future completes when it has (the share's key checked).
     *
     * @param fromShare the tunnel's bound on the streams the share has open here, over all its
     *     lanes (one per tunnel, shared by its connections)
     * @param connectionHandlers fresh handlers for the connection's pipeline, in order
     */
    public static Future<QuicChannel> connect(
            Channel udp, StreamsFromShare fromShare, ChannelHandler... connectionHandlers) {
        return QuicChannel.newBootstrap(udp)
                .option(
                        QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR,
                        TunnelCodecs.datagramAllocator())
                .handler(
                        new ChannelInitializer<QuicChannel>() {
                            @Override
                            protected void initChannel(QuicChannel ch) {
                                ch.pipeline().addLast(connectionHandlers);
                            }
                        })
                .streamHandler(fromShare.initializer())
                .localAddress(VirtualAddresses.LOCAL)
                .remoteAddress(VirtualAddresses.REMOTE)
                .connect();
    }

    /**
     * Another QUIC connection of a tunnel, one of its lanes ({@link TunnelLanes}): as the first,
     * with {@code acceptance} first in its pipeline, its keep-alive, and {@code who} naming it in
     * log lines.
     */
    public static Future<QuicChannel> lane(
            Channel udp, StreamsFromShare fromShare, ChannelHandler acceptance, String who) {
        return connect(
                udp,
                fromShare,
                acceptance,
                new KeepAliveHandler(),
                new TunnelExceptionHandler(who, "share", () -> {}));
    }

    /**
     * How many streams the share may have open at once in one tunnel here, whatever lane they are
     * on. QUIC's own limit ({@link TunnelCodecs#MAX_STREAMS_FROM_SHARE}) is per connection, so a
     * tunnel of {@link TunnelLanes#MAX_LANES} lanes would let a share hold eight times as many
     * silent streams (about 2 KB each). Past this bound a new stream from the share still gets its
     * first bytes read, for a share's control streams must not be lost (an abort notice left the
     * stream it names open; the signal stream carries ICE restarts), but it is closed after {@link
     * #OVER_BOUND_MILLIS} unless it became the signal stream or the end records: a silent one holds
     * its place only that long (its credit then comes back to the share as for any closed stream).
     */
    public static final class StreamsFromShare {
        /** How long a stream from the share past the bound may take to show what it is. */
        public static final long OVER_BOUND_MILLIS = 1_000;

        private final int max;
        private final AtomicInteger open = new AtomicInteger();
        private final AtomicInteger refused = new AtomicInteger();

        public StreamsFromShare(long max) {
            this.max = (int) max;
        }

        /** Streams from the share open now, over every lane. */
        public int open() {
            return open.get();
        }

        /** Streams from the share past the bound, closed after {@link #OVER_BOUND_MILLIS}. */
        public int refused() {
            return refused.get();
        }

        /** The stream handler for each of the tunnel's connections. */
        public ChannelHandler initializer() {
            return new ChannelInitializer<QuicStreamChannel>() {
                @Override
                protected void initChannel(QuicStreamChannel ch) {
                    QuicStreamRelease.whenClosed(ch, SpliceHandler.ABORT_ERROR);
                    ch.pipeline().addLast(new StreamAborts.NoticeOnly());
                    if (open.incrementAndGet() <= max) {
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        return;
                    }
                    open.decrementAndGet();
                    ch.eventLoop()
                            .schedule(
                                    () -> {
                                        // still reading what it is: not a notice, signals or end
                                        // records
                                        if (ch.isActive()
                                                && ch.pipeline().get(StreamAborts.NoticeOnly.class)
                                                        != null) {
                                            refused.incrementAndGet();
                                            ch.close();
                                        }
                                    },
                                    OVER_BOUND_MILLIS,
                                    TimeUnit.MILLISECONDS);
                }
            };
        }
    }
}
