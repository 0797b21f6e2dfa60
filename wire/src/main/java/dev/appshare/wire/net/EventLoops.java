package dev.appshare.wire.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
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
 * <p>Why epoll: on it the QUIC codec sends its datagrams segmented (GSO, many per system call), and
 * the UDP channel reads them coalesced (GRO: up to 64 KiB of one sender's datagrams per read; see
 * TunnelSocket); the per-datagram cost of the event loops is what the tunnel's throughput is
 * limited by (see docs/benchmarks.md). Every channel of a process must use the same transport,
 * because the path layer puts the relay's TCP channel on its UDP channel's event loop. netty
 * 4.2.18's epoll handler has a bug with half-closed TCP connections; {@link EpollKeepRegistered}
 * works around it.
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

    /**
     * Whether {@link #moveTo} may move this channel to another event loop: epoll channels only.
     * Deregistering an epoll channel removes its descriptor from the old loop's epoll set at once
     * ({@code EPOLL_CTL_DEL}), so it belongs to one loop at a time and its close frees it at once.
     * A deregistered NIO socket stays in its old selector until that selector next runs (the JDK
     * defers the close of a registered socket until then); moving relay pairs under NIO made the
     * server restart tests fail 4 times in 5 (docs/benchmarks.md).
     */
    public static boolean canMove(Channel ch) {
        return ch instanceof EpollSocketChannel;
    }

    /**
     * Moves a registered channel onto another event loop of this process's group: deregisters it
     * from its loop, then registers it on {@code to}. The returned future completes on {@code to}
     * (its listeners run there); it fails if either step fails (e.g. the channel was closed
     * meanwhile), leaving the channel to the caller to close. Only for channels that {@link
     * #canMove}; timers a handler scheduled on the old loop stay there, so add such handlers after
     * the move. Nothing is read meanwhile: the channel must have auto-read off and no read pending.
     */
    public static ChannelFuture moveTo(Channel ch, EventLoop to) {
        if (!canMove(ch)) throw new IllegalArgumentException("not movable: " + ch);
        ChannelPromise moved = ch.newPromise();
        ch.deregister()
                .addListener(
                        d -> {
                            if (!d.isSuccess()) {
                                moved.tryFailure(d.cause());
                                return;
                            }
                            to.register(ch)
                                    .addListener(
                                            r -> {
                                                if (r.isSuccess()) moved.trySuccess();
                                                else moved.tryFailure(r.cause());
                                            });
                        });
        return moved;
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
