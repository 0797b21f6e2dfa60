package dev.appshare.peer.ice;

import dev.appshare.wire.path.StunPackets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First step of the tunnel's UDP pipeline: STUN datagrams (ICE checks, the rendezvous's STUN
 * answers) go to ice4j through the {@link IceSocket} of the host address they belong to; everything
 * else (QUIC, path probes) goes on up the pipeline. Also the way out for ice4j's datagrams, written
 * straight to the socket below, past the path layer.
 *
 * <p>The socket is bound to the wildcard address, so a datagram does not say which local address it
 * reached. A STUN response goes to the view that sent the request (remembered by transaction id); a
 * request goes to the view the kernel would most likely answer from: same family, loopback for
 * loopback, else the longest common prefix with the sender.
 */
public final class IceDemuxHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(IceDemuxHandler.class);
    private static final int MAX_PENDING_TRANSACTIONS = 512;

    private final List<IceSocket> sockets = new CopyOnWriteArrayList<>();
    private final Map<StunPackets.TransactionId, IceSocket> transactions =
            new LinkedHashMap<>() {
                @Override
                protected boolean removeEldestEntry(
                        Map.Entry<StunPackets.TransactionId, IceSocket> e) {
                    return size()
                            > MAX_PENDING_TRANSACTIONS; // ice4j's own transactions time out long
                    // before
                }
            };
    private static final String CLOSED = "the tunnel's UDP socket is closed";
    private volatile ChannelHandlerContext ctx;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** The local port every view shares. */
    int port() {
        return ((InetSocketAddress) ctx.channel().localAddress()).getPort();
    }

    IceSocket open(InetAddress address) throws SocketException {
        IceSocket s = new IceSocket(new InetSocketAddress(address, port()), this);
        sockets.add(s);
        return s;
    }

    void unregister(IceSocket s) {
        sockets.remove(s);
    }

    /**
     * Writes one of ice4j's datagrams to the socket. Once the channel is closed or its event loop
     * shut down, this fails as a closed {@code DatagramSocket} would, with a {@link
     * SocketException} that ice4j handles, and holds no buffer.
     */
    void send(IceSocket from, byte[] data, int offset, int length, InetSocketAddress to)
            throws SocketException {
        ChannelHandlerContext c = ctx;
        if (c == null || !c.channel().isActive()) throw new SocketException(CLOSED);
        ByteBuf b = c.alloc().buffer(length).writeBytes(data, offset, length);
        if (StunPackets.isStun(b) && !StunPackets.isResponse(b)) {
            // A request or indication: its response must come back to this view.
            synchronized (transactions) {
                transactions.put(StunPackets.transactionId(b), from);
            }
        }
        try {
            c.executor().execute(() -> c.writeAndFlush(new DatagramPacket(b, to)));
        } catch (RejectedExecutionException e) {
            // The loop shut down between the check above and now.
            b.release();
            throw new SocketException(CLOSED);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket p) || !StunPackets.isStun(p.content())) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            ByteBuf b = p.content();
            InetSocketAddress from = p.sender();
            IceSocket target;
            if (StunPackets.isResponse(b)) {
                synchronized (transactions) {
                    target = transactions.remove(StunPackets.transactionId(b));
                }
            } else {
                target = bestViewFor(from.getAddress());
            }
            if (target == null || !target.offer(ByteBufUtil.getBytes(b), from)) {
                log.debug(
                        "dropped a STUN datagram from {} (no ICE socket for it, or ICE is behind)",
                        from);
            }
        } finally {
            p.release();
        }
    }

    private IceSocket bestViewFor(InetAddress remote) {
        IceSocket best = null;
        int bestScore = -1;
        for (IceSocket s : sockets) {
            InetAddress a = s.getLocalAddress();
            if ((a instanceof Inet6Address) != (remote instanceof Inet6Address)) continue;
            int score = a.isLoopbackAddress() == remote.isLoopbackAddress() ? 1000 : 0;
            score += commonPrefixBits(a.getAddress(), remote.getAddress());
            if (score > bestScore) {
                best = s;
                bestScore = score;
            }
        }
        return best;
    }

    private static int commonPrefixBits(byte[] a, byte[] b) {
        int bits = 0;
        for (int i = 0; i < a.length; i++) {
            int x = (a[i] ^ b[i]) & 0xFF;
            if (x == 0) {
                bits += 8;
                continue;
            }
            return bits + Integer.numberOfLeadingZeros(x) - 24;
        }
        return bits;
    }
}
