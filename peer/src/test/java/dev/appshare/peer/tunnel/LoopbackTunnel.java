package dev.appshare.peer.tunnel;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.tunnel.StreamAborts;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A tunnel's two QUIC ends on loopback, with the tunnel's real codecs and keys: the share's (the
 * server, whose streams get {@code shareStreams}) and connect's (the client, {@code tunnel}, whose
 * streams from the share get {@code connectorStreams}), on one event loop.
 */
final class LoopbackTunnel implements AutoCloseable {
    final PeerIdentity shareKey = PeerIdentity.generate();
    final PeerIdentity connectKey = PeerIdentity.generate();

    /** The share's end of the connection, once its handshake completed. */
    final CompletableFuture<QuicChannel> shareSide = new CompletableFuture<>();

    final EventLoopGroup group = EventLoops.newGroup(1);
    private final Channel share;
    private final Channel connector;

    /** connect's end of the connection. */
    final QuicChannel tunnel;

    /** With connect's own handler for the streams the share opens (abort notices, signals). */
    LoopbackTunnel(ChannelHandler shareStreams) throws Exception {
        this(
                shareStreams,
                new ChannelInitializer<QuicStreamChannel>() {
                    @Override
                    protected void initChannel(QuicStreamChannel ch) {
                        ch.pipeline().addLast(new StreamAborts.NoticeOnly());
                    }
                });
    }

    LoopbackTunnel(ChannelHandler shareStreams, ChannelHandler connectorStreams) throws Exception {
        this(shareStreams, connectorStreams, null, null);
    }

    /** With a handler first on each side's UDP channel (a {@code UdpGate}, say), if not null. */
    LoopbackTunnel(
            ChannelHandler shareStreams,
            ChannelHandler connectorStreams,
            ChannelHandler shareTap,
            ChannelHandler connectorTap)
            throws Exception {
        Channel s = null;
        Channel c = null;
        try {
            s = bindShare(shareStreams, shareTap);
            c =
                    LoopbackUdp.bind(
                            group,
                            connectorTap,
                            TunnelCodecs.client(connectKey, shareKey.fingerprint(), false));
            tunnel =
                    QuicChannel.newBootstrap(c)
                            .handler(new ChannelInboundHandlerAdapter())
                            .streamHandler(connectorStreams)
                            .remoteAddress(s.localAddress())
                            .connect()
                            .get(10, TimeUnit.SECONDS);
        } catch (Exception | Error e) {
            if (c != null) c.close();
            if (s != null) s.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        share = s;
        connector = c;
    }

    private Channel bindShare(ChannelHandler shareStreams, ChannelHandler tap)
            throws InterruptedException {
        return LoopbackUdp.bind(
                group,
                tap,
                TunnelCodecs.server(
                        shareKey,
                        connectKey.fingerprint(),
                        false,
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                shareSide.complete((QuicChannel) ctx.channel());
                                ctx.fireChannelActive();
                            }
                        },
                        shareStreams));
    }

    @Override
    public void close() throws Exception {
        tunnel.close().await(5, TimeUnit.SECONDS);
        connector.close().await(5, TimeUnit.SECONDS);
        share.close().await(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
