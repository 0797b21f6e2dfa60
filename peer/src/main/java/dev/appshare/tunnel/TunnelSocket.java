package dev.appshare.tunnel;

import dev.appshare.net.EventLoops;
import dev.appshare.path.PathSwitch;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;

/**
 * The peer's UDP channel for one tunnel: the path layer first, the QUIC codec behind it. The socket is
 * the one the direct path uses; on the relay path the codec's datagrams never touch it.
 */
public final class TunnelSocket {
    private TunnelSocket() {}

    public static ChannelFuture bind(EventLoop loop, PathSwitch paths, ChannelHandler quicCodec) {
        return new Bootstrap()
                .group(loop)
                .channel(EventLoops.datagram())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("paths", paths);
                        ch.pipeline().addLast("quic", quicCodec);
                    }
                })
                .bind(new InetSocketAddress(0));
    }
}
