package dev.appshare.peer.tunnel;

import dev.appshare.wire.net.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** One end of a test tunnel: a UDP channel on an ephemeral loopback port with a QUIC codec. */
final class LoopbackUdp {
    private LoopbackUdp() {}

    /** Binds a UDP channel on loopback whose pipeline is {@code codec}; waits for the bind. */
    static Channel bind(EventLoopGroup group, ChannelHandler codec) throws InterruptedException {
        return bind(group, null, codec);
    }

    /** As {@link #bind(EventLoopGroup, ChannelHandler)}, with {@code tap} (if not null) first. */
    static Channel bind(EventLoopGroup group, ChannelHandler tap, ChannelHandler codec)
            throws InterruptedException {
        return new Bootstrap()
                .group(group)
                .channel(EventLoops.datagram())
                .handler(
                        tap == null
                                ? codec
                                : new io.netty.channel.ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                        ch.pipeline().addLast(tap, codec);
                                    }
                                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .sync()
                .channel();
    }
}
