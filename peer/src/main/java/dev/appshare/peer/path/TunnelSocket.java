package dev.appshare.peer.path;

import dev.appshare.peer.ice.IceDemuxHandler;
import dev.appshare.wire.net.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;

/**
 * The peer's UDP channel for one tunnel, on an ephemeral port of the wildcard address: ICE's STUN
 * split off first, then the path layer, then the QUIC codec. On the direct path QUIC's datagrams
 * and ICE's checks leave through this one socket; on the relay path the codec's datagrams never
 * touch it.
 */
public final class TunnelSocket {
    /** Room for a burst at 1 Gbit/s and more; the kernel caps it at net.core.[rw]mem_max. */
    private static final int SOCKET_BUFFER = 4 << 20;

    private TunnelSocket() {}

    public static ChannelFuture bind(
            EventLoop loop,
            ChannelHandler tap,
            IceDemuxHandler demux,
            PathSwitch paths,
            ChannelHandler quicCodec) {
        return new Bootstrap()
                .group(loop)
                .channel(EventLoops.datagram())
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .handler(
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                if (tap != null) ch.pipeline().addLast("tap", tap);
                                ch.pipeline().addLast("stun", demux);
                                ch.pipeline().addLast("paths", paths);
                                ch.pipeline().addLast("quic", quicCodec);
                            }
                        })
                .bind(new InetSocketAddress(0));
    }
}
