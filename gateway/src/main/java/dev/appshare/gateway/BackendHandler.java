package dev.appshare.gateway;

import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The share's side of one visitor connection: on the tunnel stream, after the HTTP client codec,
 * hands each response part to the visitor as it comes (streamed, never buffered whole), reads only
 * while the visitor takes it, closes the visitor when the application closes or asks to, and after
 * a 101 drops the codec and carries raw bytes.
 *
 * <p>An answer nobody asked for (more final answers than requests carried, or a 1xx while none
 * waits) ends the stream and the visitor's connection: passed on, it would answer the next request
 * the visitor's connection carries, which behind a reverse proxy that keeps its connections to the
 * gateway may be another visitor's, for another share (a share's application could answer another
 * share's visitors). A HEAD's answer is one head; a body after it is such an answer too.
 */
final class BackendHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BackendHandler.class);

    private final VisitorHandler visitorSide;
    private final Channel visitor;
    private boolean switching; // a 101 came: its end switches both sides to raw bytes
    private boolean upgraded;
    private boolean closeAfter; // the response says Connection: close
    private volatile boolean answering; // a response's head went to the visitor, its end not yet
    private boolean unasked; // an answer nobody asked for came: nothing more is passed on
    private final AtomicInteger awaiting; // requests carried and not answered (VisitorHandler's)
    private volatile boolean detached; // the visitor's connection moved on to another share

    /**
     * The visitor's connection left this stream for another share (every request answered): from
     * now on nothing of this stream reaches the visitor, nor does its end close it.
     */
    void detach() {
        detached = true;
    }

    /** Whether an answer is on its way to the visitor (its head sent, its end not yet). */
    boolean answering() {
        return answering;
    }

    BackendHandler(VisitorHandler visitorSide, Channel visitor, AtomicInteger awaiting) {
        this.visitorSide = visitorSide;
        this.visitor = visitor;
        this.awaiting = awaiting;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!visitor.isActive() || unasked || detached) {
            ReferenceCountUtil.release(msg);
            StreamEnd.close(ctx.channel());
            return;
        }
        if (upgraded) {
            visitor.write(msg);
            pauseIfFull(ctx);
            return;
        }
        if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
            // The application's answer cannot be read (a head beyond the codec's limits, a
            // broken chunk): carried on, the codec's stand-in would reach the visitor as a bogus
            // response that never ends. Before the answer began the visitor gets a 502 page;
            // after, its connection closes, as the answer broke off.
            log.debug("gateway stream {}: unreadable answer: {}", ctx.channel(), o.decoderResult());
            giveUp(ctx, msg);
            return;
        }
        if (msg instanceof HttpResponse r) {
            // Marked before the answer is counted, so that the visitor's side never sees every
            // request answered while this one's head is on its way (VisitorHandler.leaveShare).
            answering = true;
            if (!answers(r)) {
                log.debug(
                        "gateway stream {}: an answer nobody asked for: {}",
                        ctx.channel(),
                        r.status());
                unasked = true;
                ReferenceCountUtil.release(msg);
                endVisitorAfterSent(); // what answered its requests goes first
                StreamEnd.close(ctx.channel());
                return;
            }
            if (r.status().code() == HttpResponseStatus.SWITCHING_PROTOCOLS.code()
                    && !visitorSide.mayUpgrade()) {
                // A switch nobody asked for would carry raw bytes to a visitor speaking HTTP.
                log.debug("gateway stream {}: a 101 to a request that did not ask", ctx.channel());
                unasked = true;
                answering = false; // nothing of this answer went out: the visitor gets a 502
                giveUp(ctx, msg);
                return;
            }
            int code = r.status().code();
            switching = code == HttpResponseStatus.SWITCHING_PROTOCOLS.code();
            if (code >= 200) closeAfter = !HttpUtil.isKeepAlive(r);
            if (code >= 200 && !switching) visitorSide.upgradeRefused();
        }
        visitor.write(msg);
        if (msg instanceof LastHttpContent) {
            answering = false;
            if (switching) {
                upgraded = true;
                // Bytes after the 101 that the codec already holds come to channelRead as raw.
                // Removed before the visitor's side switches: on the same loop, that switch hands
                // on at once any raw bytes the visitor sent early, which must meet no encoder here.
                ctx.pipeline().remove(VisitorHandler.CODEC);
                visitorSide.switchToRaw();
            } else if (closeAfter) {
                endVisitorAfterSent();
                StreamEnd.close(ctx.channel());
                return;
            }
        }
        pauseIfFull(ctx);
    }

    /**
     * Closes the visitor's connection once what was written to it is sent, unless it moved on to
     * another share ({@link #detach}): this stream's end is then no longer the visitor's.
     */
    private void endVisitorAfterSent() {
        if (!detached)
            visitor.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Ends the stream on an answer that cannot be passed on: before an answer began the visitor
     * gets a 502 page; after, its connection closes, as the answer broke off.
     */
    private void giveUp(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
        if (!answering)
            GatewayPages.send(visitor, HttpResponseStatus.BAD_GATEWAY, GatewayPages.UNREACHABLE);
        else visitor.close();
        StreamEnd.close(ctx.channel());
    }

    /**
     * Whether {@code r} answers a request carried and not answered yet; a final answer (or a 101)
     * counts it answered. An informational one (100, 103) only needs one waiting.
     */
    private boolean answers(HttpResponse r) {
        int code = r.status().code();
        if (code < 200 && code != HttpResponseStatus.SWITCHING_PROTOCOLS.code())
            return awaiting.get() > 0;
        return awaiting.getAndUpdate(n -> n > 0 ? n - 1 : n) > 0;
    }

    /**
     * Stops reading the stream while the visitor's queue is full; the visitor's handler resumes it
     * when the queue drains. Where the visitor lives on another loop (HTTP/2, NIO) it can drain
     * between the look and the pause, its "writable again" then already spent: so look again after
     * pausing, or the download would stall for good.
     */
    private void pauseIfFull(ChannelHandlerContext ctx) {
        if (visitor.isWritable()) return;
        ctx.channel().config().setAutoRead(false);
        if (visitor.isWritable()) ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        visitor.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // The visitor's requests are read only while the stream takes them.
        if (ctx.channel().isWritable()) visitorSide.streamDrained();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            // The application closed its connection (the stream is half-closed, so this is not
            // channelInactive): what it sent is all there is. The visitor's connection ends once
            // that is sent, as with the application itself; left open, it would carry the
            // visitor's next request (e.g. after an application's keep-alive timeout) to a
            // stream nothing answers on.
            endVisitorAfterSent();
            StreamEnd.close(ctx.channel());
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // The application closed (or the tunnel went): the visitor's connection ends once what
        // came before is sent.
        endVisitorAfterSent();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("gateway stream {}: {}", ctx.channel(), cause.toString());
        if (cause instanceof QuicStreamResetException reset
                && !answering
                && !detached
                && awaiting.get() > 0) {
            // The share reset the stream before any answer: its application could not be
            // reached (a failed dial), or it holds its most connections. Say which, rather than
            // dropping the visitor's connection without a word.
            if (reset.applicationProtocolCode() == StreamPreamble.BUSY_ERROR)
                GatewayPages.send(
                        visitor, HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayPages.SHARE_BUSY);
            else
                GatewayPages.send(
                        visitor, HttpResponseStatus.BAD_GATEWAY, GatewayPages.APP_UNREACHABLE);
        }
        StreamEnd.close(ctx.channel());
    }
}
