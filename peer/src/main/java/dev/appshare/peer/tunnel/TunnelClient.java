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
     * @param connectionHandlers fresh handlers for the connection's pipeline, in order
     */
    public static Future<QuicChannel> connect(Channel udp, ChannelHandler... connectionHandlers) {
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
                .streamHandler(
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                QuicStreamRelease.whenClosed(ch, SpliceHandler.ABORT_ERROR);
                                ch.pipeline().addLast(new StreamAborts.NoticeOnly());
                            }
                        })
                .localAddress(VirtualAddresses.LOCAL)
                .remoteAddress(VirtualAddresses.REMOTE)
                .connect();
    }
}
