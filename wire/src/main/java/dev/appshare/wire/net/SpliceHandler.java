package dev.appshare.wire.net;

import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamEnds;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.quic.QuicSendBatch;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamFrame;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.LongAdder;

/**
 * Copies bytes from its channel to a peer channel, netty's proxy idiom: auto-read is off and the
 * next chunk is read only while the peer is writable (its outbound buffer under the high-water
 * mark), and resumed by the peer's handler when it drains, so a slow peer slows this side down and
 * at most a high-water mark's worth per direction is ever held. A FIN is passed on as a half-close
 * once the last write has completed; when both directions are shut, or either side closes, both
 * close.
 *
 * <p>Used for both halves of every splice: relay TCP <-> relay TCP, and local TCP <-> QUIC stream.
 * Both channels must be {@link DuplexChannel}s opened with {@code ALLOW_HALF_CLOSURE} and auto-read
 * off.
 */
public final class SpliceHandler extends ChannelInboundHandlerAdapter {
    private static final org.slf4j.Logger log =
            org.slf4j.LoggerFactory.getLogger(SpliceHandler.class);

    /** Application error code on a stream reset because its TCP connection broke. */
    public static final int ABORT_ERROR = 1;

    private final Channel peer;
    private ChannelFuture lastWrite;
    private boolean unflushed;
    private boolean flushScheduled;
    private boolean inputEnded;
    private final Runnable scheduledFlush = this::flushPeer;
    // Written by this channel's loop alone; read by any thread (the status line) in opaque mode:
    // atomic and soon visible, at no cost on the hot path (no fence, unlike a volatile).
    private long bytes;
    private final LongAdder counted; // null: none
    private static final java.lang.invoke.VarHandle BYTES;

    static {
        try {
            BYTES =
                    java.lang.invoke.MethodHandles.lookup()
                            .findVarHandle(SpliceHandler.class, "bytes", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public SpliceHandler(Channel peer) {
        this(peer, null);
    }

    /** Also adds every chunk's size to {@code counted} (a server's byte counter), if not null. */
    public SpliceHandler(Channel peer, LongAdder counted) {
        this.peer = peer;
        this.counted = counted;
    }

    /** The two halves of a splice; each counts the bytes it moved. */
    public record Pair(SpliceHandler fromA, SpliceHandler fromB) {}

    /** Joins two channels both ways and starts reading. Safe to call from any thread. */
    public static Pair join(Channel a, Channel b) {
        return join(a, b, null);
    }

    /** As {@link #join(Channel, Channel)}, adding the bytes both ways to {@code counted}. */
    public static Pair join(Channel a, Channel b, LongAdder counted) {
        Pair p = new Pair(new SpliceHandler(b, counted), new SpliceHandler(a, counted));
        install(a, p.fromA());
        install(b, p.fromB());
        return p;
    }

    private static void install(Channel self, SpliceHandler h) {
        self.eventLoop()
                .execute(
                        () -> {
                            if (!self.isActive()) {
                                closeOnFlush(h.peer);
                                return;
                            }
                            self.pipeline().addLast("splice", h);
                        });
    }

    /** Bytes this side has read and handed to its peer; any thread. */
    public long bytes() {
        return (long) BYTES.getOpaque(this);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!peer.isActive()) {
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        if (msg instanceof ByteBuf buf) {
            int n = buf.readableBytes();
            BYTES.setOpaque(this, bytes + n);
            if (counted != null) counted.add(n);
        }
        // Into a QUIC stream: the connection sends once this loop turn is done, so the writes of
        // every socket read in it share packets and one send.
        if (peer instanceof QuicStreamChannel stream) QuicSendBatch.hold(stream.parent());
        // Written now, flushed once per read burst or loop turn (channelReadComplete): a QUIC
        // stream hands over each packet's bytes as one buffer, and a socket write each would be a
        // system call each.
        lastWrite = peer.write(msg);
        unflushed = true;
        lastWrite.addListener(
                (ChannelFutureListener)
                        f -> {
                            if (!f.isSuccess()) {
                                log.debug(
                                        "splice write to {} failed: {}",
                                        peer,
                                        f.cause().toString());
                                abort(ctx.channel());
                                peer.close();
                            }
                        });
        // Keep reading while the peer takes more; once its buffer passes the high-water mark, the
        // peer's own splice handler resumes us when it drains (channelWritabilityChanged).
        if (peer.isWritable()) readMore(ctx.channel());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (unflushed && !flushScheduled && peer.eventLoop().inEventLoop()) {
            // At the end of this loop turn: a QUIC stream's read burst is one packet, and the
            // loop reads up to 64 of them per turn.
            flushScheduled = true;
            peer.eventLoop().execute(scheduledFlush);
        } else if (!flushScheduled) {
            flushPeer();
        }
        ctx.fireChannelReadComplete();
    }

    private void flushPeer() {
        flushScheduled = false;
        if (unflushed) {
            unflushed = false;
            peer.flush();
        }
    }

    /** The channel we write into drained below its low-water mark: let our source read again. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) readMore(peer);
        ctx.fireChannelWritabilityChanged();
    }

    private static void readMore(Channel ch) {
        // No read after a FIN: epoll refuses it (the fd has left the interest set).
        if (ch.isActive() && !isInputShutdown(ch)) ch.read();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            // Once: a stream's end may come by its end record and then by its FIN (StreamEnds).
            if (inputEnded) return;
            inputEnded = true;
            flushPeer(); // the FIN follows the last write, which must leave first
            ChannelFuture written = lastWrite != null ? lastWrite : peer.newSucceededFuture();
            written.addListener(
                    (ChannelFutureListener)
                            f -> {
                                if (!f.isSuccess()
                                        || !(peer instanceof DuplexChannel dp)
                                        || !peer.isActive()) {
                                    ctx.close();
                                    peer.close();
                                    return;
                                }
                                shutdownOutput(dp)
                                        .addListener(
                                                (ChannelFutureListener)
                                                        s -> {
                                                            boolean selfDone =
                                                                    ((DuplexChannel) ctx.channel())
                                                                            .isOutputShutdown();
                                                            if (!s.isSuccess() || selfDone) {
                                                                ctx.close();
                                                                peer.close();
                                                            }
                                                        });
                            });
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // Our side is gone. A QUIC stream whose far end is still sending must be reset
        // (STOP_SENDING),
        // or the far writer fills the stream window and waits forever; otherwise flush and close.
        // (An end that came by its record counts: netty's own flag does not know of it.)
        if (peer instanceof QuicStreamChannel stream && !StreamEnds.inputEnded(stream)) {
            abort(peer);
        } else {
            closeOnFlush(peer);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset or I/O error on one side ends both; the owner of the channels logs the close.
        log.debug("splice {} failed: {}", ctx.channel(), cause.toString());
        // Abort the peer before closing ours: closing ours first would close the peer gracefully
        // (channelInactive -> closeOnFlush), and a QUIC stream closed with a FIN instead of a reset
        // leaves the far writer filling the stream window forever.
        abort(peer);
        ctx.close();
    }

    /**
     * Ends a channel abortively, so the far end learns the connection broke rather than ended: a
     * TCP connection is reset (SO_LINGER 0), a QUIC stream gets RESET_STREAM and STOP_SENDING (so
     * the far writer stops at once instead of filling the stream's window and stalling), and if its
     * FIN was already sent, an abort notice ({@link StreamAborts}). Under TLS the socket beneath is
     * closed: a close through {@link SslHandler} would first queue close_notify behind the bytes a
     * reader does not take and wait 3 s for them.
     */
    public static void abort(Channel ch) {
        abort(ch, ABORT_ERROR);
    }

    /** As {@link #abort(Channel)}, with {@code error} as a QUIC stream's application error. */
    public static void abort(Channel ch, int error) {
        if (!ch.isActive()) {
            ch.close();
            return;
        }
        if (ch instanceof QuicStreamChannel stream) {
            // After our FIN only STOP_SENDING can carry this, and netty may drop it.
            StreamAborts.aborting(stream, error);
            stream.shutdown(error).addListener(f -> stream.close());
            return;
        }
        if (ch instanceof SocketChannel) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException ignored) {
                // the socket is already gone: a plain close is all that is left
            }
            if (ch.pipeline().get(SslHandler.class) != null) {
                ch.unsafe().close(ch.unsafe().voidPromise());
                return;
            }
        }
        ch.close();
    }

    /**
     * Ends {@code ch}'s sending half. A QUIC stream's FIN goes as the frame netty's {@code
     * shutdownOutput} writes, but through the stream's pipeline (netty's bypasses it), so that the
     * end records ({@link dev.appshare.wire.tunnel.StreamEnds}) see it leave.
     */
    private static ChannelFuture shutdownOutput(DuplexChannel ch) {
        if (!(ch instanceof QuicStreamChannel stream)) return ch.shutdownOutput();
        QuicSendBatch.hold(stream.parent());
        return stream.writeAndFlush(QuicStreamFrame.EMPTY_FIN);
    }

    private static boolean isInputShutdown(Channel ch) {
        return ch instanceof DuplexChannel d && d.isInputShutdown();
    }

    public static void closeOnFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
    }
}
