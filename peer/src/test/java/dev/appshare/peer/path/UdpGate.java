package dev.appshare.peer.path;

import dev.appshare.wire.path.StunPackets;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark and test helper: a firewall in front of a tunnel's UDP socket (put there through {@code
 * PathOptions.testOnlySocketTap}, first in the pipeline). It passes everything ({@link Mode#OPEN}),
 * drops every datagram but STUN both ways ({@link Mode#ALL_BUT_STUN}: ICE validates a pair that
 * then carries nothing), drops everything ({@link Mode#ALL}: the direct path is cut), drops a share
 * of what is not STUN at random ({@link Mode#LOSSY}: a lossy network), or what this side sends
 * ({@link Mode#OUTGOING}: its acknowledgements, say).
 *
 * <p>It also notes when it first dropped an outgoing non-STUN datagram: on the relay path the QUIC
 * codec never writes to this socket, so the first such datagram is the path layer's first probe of
 * a pair ICE has just validated.
 */
@ChannelHandler.Sharable
public final class UdpGate extends ChannelDuplexHandler {
    public enum Mode {
        OPEN,
        ALL_BUT_STUN,
        ALL,
        /** Drops each datagram but STUN, either way, with probability {@link #loss}. */
        LOSSY,
        /** Drops every outgoing datagram but STUN, takes every incoming one. */
        OUTGOING
    }

    /** The share of datagrams {@link Mode#LOSSY} drops, 0 to 1. */
    public volatile double loss;

    private final java.util.SplittableRandom random = new java.util.SplittableRandom(20261202);

    public volatile Mode mode;

    /** System.nanoTime() of the first outgoing non-STUN datagram dropped, 0 before. */
    public volatile long firstOutDropNanos;

    public final AtomicLong droppedIn = new AtomicLong();
    public final AtomicLong droppedOut = new AtomicLong();

    public UdpGate(Mode mode) {
        this.mode = mode;
    }

    private boolean drops(DatagramPacket p) {
        return switch (mode) {
            case OPEN -> false;
            case ALL -> true;
            case ALL_BUT_STUN -> !StunPackets.isStun(p.content());
            case LOSSY -> !StunPackets.isStun(p.content()) && dice() < loss;
            case OUTGOING -> !StunPackets.isStun(p.content());
        };
    }

    private synchronized double dice() {
        return random.nextDouble();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket p && mode != Mode.OUTGOING && drops(p)) {
            droppedIn.incrementAndGet();
            ReferenceCountUtil.release(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof DatagramPacket p && drops(p)) {
            if (firstOutDropNanos == 0 && !StunPackets.isStun(p.content()))
                firstOutDropNanos = System.nanoTime();
            droppedOut.incrementAndGet();
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
        } else {
            ctx.write(msg, promise);
        }
    }
}
