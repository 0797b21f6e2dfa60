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
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import java.net.InetSocketAddress;

/**
 * The peer's UDP channel for one tunnel, on an ephemeral port of the wildcard address: ICE's STUN
 * split off first, then the birthday search's datagrams, then the path layer, then the QUIC codec.
 * On the direct path QUIC's datagrams and ICE's checks leave through this one socket; on the relay
 * path the codec's datagrams never touch it.
 */
public final class TunnelSocket {
    /** Room for a burst at 1 Gbit/s and more; the kernel caps it at net.core.[rw]mem_max. */
    private static final int SOCKET_BUFFER = 4 << 20;

    /**
     * UDP_GRO on the tunnel socket (epoll only): on unless {@code -Dappshare.gro=false}. It was off
     * for a while because a half-close test failed with it (TcpSemanticsTest's
     * clientClosingEarlyClosesTheServersConnection); that failure was over the relay, which never
     * reads this socket, and came from netty dropping a STOP_SENDING (see StreamAborts), with GRO
     * or without.
     */
    private static final boolean GRO = !"false".equals(System.getProperty("appshare.gro"));

    /** A GRO read returns at most 64 KiB (the largest UDP payload). */
    private static final int GRO_READ = 65_535;

    /**
     * One datagram's room in a read: QUIC's datagrams are at most 1350 bytes on UDP
     * (TunnelCodecs.MAX_UDP_PAYLOAD), STUN's smaller; a larger one is cut short and then refused by
     * whichever handler parses it.
     */
    private static final int SLOT = 2048;

    /**
     * Without GRO, on epoll: read with recvmmsg, up to this many datagrams per system call ({@code
     * -Dappshare.mmsg=false}: one recvmsg per datagram).
     */
    private static final boolean MMSG = !"false".equals(System.getProperty("appshare.mmsg"));

    private static final int MMSG_SLOTS = 32;

    /**
     * Reads per wake-up before the codec gets its read-complete (and flushes ACKs). netty's
     * FixedRecvByteBufAllocator would make it 1, i.e. one ACK per datagram.
     */
    private static final int READS = 64;

    private TunnelSocket() {}

    /** Gives another socket that carries the tunnel (a birthday search's) this one's buffers. */
    static void sizeBuffers(Channel ch) {
        ch.config().setOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER);
        ch.config().setOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER);
    }

    public static ChannelFuture bind(
            EventLoop loop,
            ChannelHandler tap,
            IceDemuxHandler demux,
            BirthdayHandler birthday,
            PathSwitch paths,
            ChannelHandler quicCodec) {
        Bootstrap b =
                new Bootstrap()
                        .group(loop)
                        .channel(EventLoops.datagram())
                        .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                        .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER);
        if (EventLoops.epoll() && GRO) {
            // GRO: the kernel hands over up to 64 KiB of one sender's datagrams per read (netty
            // splits them into one DatagramPacket each again), so a burst costs a few system calls
            // instead of one per datagram. It needs a 64 KiB buffer per read.
            b.option(EpollChannelOption.UDP_GRO, true)
                    .option(
                            ChannelOption.RCVBUF_ALLOCATOR,
                            new FixedRecvByteBufAllocator(GRO_READ).maxMessagesPerRead(READS));
        } else if (EventLoops.epoll() && MMSG) {
            // recvmmsg: up to MMSG_SLOTS datagrams per system call, each in a slot of one buffer
            // (netty hands them on as one DatagramPacket each).
            b.option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, SLOT)
                    .option(
                            ChannelOption.RCVBUF_ALLOCATOR,
                            new FixedRecvByteBufAllocator(SLOT * MMSG_SLOTS)
                                    .maxMessagesPerRead(READS));
        } else {
            b.option(
                    ChannelOption.RCVBUF_ALLOCATOR,
                    new FixedRecvByteBufAllocator(SLOT).maxMessagesPerRead(READS));
        }
        return b.handler(
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                if (tap != null) ch.pipeline().addLast("tap", tap);
                                ch.pipeline().addLast("stun", demux);
                                ch.pipeline().addLast("birthday", birthday);
                                ch.pipeline().addLast("paths", paths);
                                ch.pipeline().addLast("quic", quicCodec);
                            }
                        })
                .bind(new InetSocketAddress(0));
    }
}
