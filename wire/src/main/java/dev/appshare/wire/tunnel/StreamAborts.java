package dev.appshare.wire.tunnel;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamRelease;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The abort notice ({@link StreamPreamble#ABORT_STREAM}): how a peer that aborts a stream after it
 * already sent its FIN makes sure the other peer hears of it.
 *
 * <p>Such an abort (a client that closed its connection, seen first as an end of input and passed
 * on as a FIN, whose next write then failed) can only reach the other side as STOP_SENDING: its
 * RESET_STREAM is moot once the FIN was read. netty (4.2.18) does not reliably tell a stream about
 * a STOP_SENDING: it learns of it only through quiche's list of writable streams, which is empty
 * whenever the connection's congestion window is full, and once its own RESET_STREAM is acked
 * quiche forgets the stream; later writes then wait for capacity forever and the stream's TCP
 * connection stays open (netty/netty#17380). So the aborting side also opens a stream that carries
 * just this notice, and the other side aborts the stream it names as if it had been reset.
 *
 * <p>Both peers track their open streams ({@link #track}) and take notices ({@link #take}). A peer
 * that predates the notice refuses the stream as an unknown preamble (an old share logs one
 * rate-limited line for it); nothing else changes. All methods run on the QUIC channel's event loop
 * (its streams share it).
 */
public final class StreamAborts {
    private static final Logger log = LoggerFactory.getLogger(StreamAborts.class);
    private static final AttributeKey<Map<Long, QuicStreamChannel>> OPEN =
            AttributeKey.valueOf(StreamAborts.class, "open");

    private StreamAborts() {}

    /** Raised on a stream the other peer said it aborted. */
    public static final class AbortedByPeerException extends IOException {
        public AbortedByPeerException(long stream) {
            super("the other peer aborted stream " + stream + " after its FIN");
        }
    }

    /**
     * Makes {@code stream} findable by a notice or an end record from the other peer until it
     * closes, has netty forget it then ({@link QuicStreamRelease}), and sends its end record
     * ({@link StreamEnds}). Before the stream's first byte either way.
     */
    public static void track(QuicStreamChannel stream) {
        QuicStreamRelease.whenClosed(stream, SpliceHandler.ABORT_ERROR);
        StreamEnds.watch(stream);
        QuicChannel quic = stream.parent();
        Map<Long, QuicStreamChannel> open = quic.attr(OPEN).get();
        if (open == null) {
            open = new HashMap<>();
            quic.attr(OPEN).set(open);
        }
        long id = stream.streamId();
        open.put(id, stream);
        Map<Long, QuicStreamChannel> tracked = open;
        stream.closeFuture().addListener(f -> tracked.remove(id, stream));
    }

    /** The tracked stream with this id on {@code quic}, if still open; on its event loop. */
    static QuicStreamChannel open(QuicChannel quic, long stream) {
        Map<Long, QuicStreamChannel> open = quic.attr(OPEN).get();
        return open == null ? null : open.get(stream);
    }

    /**
     * This side is aborting {@code stream} with {@code error}: its end record will say so, and if
     * it already sent its FIN, the other peer is told on a stream of its own. Call before the
     * stream is shut down.
     */
    public static void aborting(QuicStreamChannel stream, int error) {
        StreamEnds.resetting(stream, error);
        if (!stream.isOutputShutdown() || !stream.parent().isActive()) return;
        byte[] notice = StreamPreamble.encodeAbort(stream.streamId());
        StreamCredit.open(
                stream.parent(),
                // Reads the other side's FIN (and nothing else), then the stream closes.
                new ChannelInboundHandlerAdapter(),
                s ->
                        s.writeAndFlush(Unpooled.wrappedBuffer(notice))
                                .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT));
    }

    /**
     * A notice naming {@code stream} arrived on {@code notice}: the named stream fails as if reset
     * (its splice resets the TCP connection), and the notice stream gets our FIN (the other side's
     * FIN then closes it). Returns whether the named stream was still open.
     */
    public static boolean take(QuicStreamChannel notice, long stream) {
        QuicStreamChannel s = open(notice.parent(), stream);
        if (s != null) s.pipeline().fireExceptionCaught(new AbortedByPeerException(stream));
        notice.shutdownOutput();
        return s != null;
    }

    /**
     * The handler of every stream the other peer opens, for a side that takes no streams but
     * notices ({@code connect}): acts on an abort notice and ends the stream with its own FIN,
     * hands a signal stream to {@link PathSignals} and end records to {@link StreamEnds}; any other
     * stream is closed at once.
     */
    public static final class NoticeOnly extends ChannelInboundHandlerAdapter {
        private ByteBuf held;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            held =
                    held == null
                            ? buf
                            : ctx.alloc().compositeBuffer().addComponents(true, held, buf);
            StreamPreamble.Request r;
            try {
                r = StreamPreamble.decode(held);
            } catch (IllegalArgumentException e) {
                r = new StreamPreamble.Request((byte) 0, 0);
            }
            if (r == null) return; // more to come
            QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
            if (PeerControlStream.opens(r.kind())) {
                ByteBuf rest = held;
                held = null;
                ctx.pipeline().remove(this);
                PeerControlStream.take(stream, r.kind(), rest);
                return;
            }
            held.release();
            held = null;
            if (r.kind() != StreamPreamble.ABORT_STREAM) {
                ctx.close();
                return;
            }
            if (take(stream, r.stream())) {
                log.debug("the other peer aborted stream {} after its FIN", r.stream());
            }
        }

        /**
         * The other peer ended the stream before a whole preamble: nothing will come to act on, so
         * close it (with half-closure on, netty would keep it, and the QUIC stream credit it holds,
         * for the tunnel's life).
         */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (held != null) {
                held.release();
                held = null;
            }
            ctx.fireChannelInactive();
        }
    }
}
