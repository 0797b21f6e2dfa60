package dev.appshare.wire.net;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * Picks the transport: netty's native epoll where it is available (Linux), NIO elsewhere or with
 * {@code -Dappshare.transport=nio}.
 *
 * <p>Why epoll: on it the UDP channel reads many datagrams per system call and the QUIC codec can
 * send and receive them segmented (GSO, GRO), which is what the tunnel's throughput is limited by
 * (see docs/benchmarks.md). Every channel of a process must use the same transport, because the
 * path layer puts the relay's TCP channel on its UDP channel's event loop. netty 4.2.18's epoll
 * handler has a bug with half-closed TCP connections; {@link EpollKeepRegistered} works around it.
 */
public final class EventLoops {
    private static final boolean EPOLL =
            !"nio".equals(System.getProperty("appshare.transport")) && Epoll.isAvailable();

    private EventLoops() {}

    /** Whether this process runs on epoll (false: NIO). */
    public static boolean epoll() {
        return EPOLL;
    }

    public static EventLoopGroup newGroup(int threads) {
        IoHandlerFactory factory =
                EPOLL
                        ? new EpollKeepRegistered(EpollIoHandler.newFactory())
                        : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, factory);
    }

    public static Class<? extends ServerChannel> serverSocket() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends SocketChannel> socket() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    public static Class<? extends DatagramChannel> datagram() {
        return EPOLL ? EpollDatagramChannel.class : NioDatagramChannel.class;
    }
}
