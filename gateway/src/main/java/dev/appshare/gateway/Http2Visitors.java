package dev.appshare.gateway;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * A visitor that negotiated HTTP/2 (ALPN, over TLS): netty's HTTP/2 codec, one child channel per
 * HTTP/2 stream, each converted to HTTP/1.1 objects and handled by a {@link VisitorHandler} of its
 * own, so each request travels on a tunnel stream of its own to the share, which speaks HTTP/1.1
 * (its responses are converted back; connection-specific headers dropped as HTTP/2 requires).
 */
final class Http2Visitors {
    /**
     * The connection's first-request deadline, cancelled by the first stream that is routed to a
     * share ({@link #routed}), not by any stream: one with a bad Host would otherwise let PINGs
     * keep the connection for ever.
     */
    private static final io.netty.util.AttributeKey<java.util.concurrent.ScheduledFuture<?>>
            FIRST_STREAM = io.netty.util.AttributeKey.valueOf(Http2Visitors.class, "firstStream");

    /** A stream of {@code child}'s connection was routed to a share: the deadline is met. */
    static void routed(io.netty.channel.Channel child) {
        if (!(child instanceof Http2StreamChannel)) return;
        java.util.concurrent.ScheduledFuture<?> d =
                child.parent().attr(FIRST_STREAM).getAndSet(null);
        if (d != null) d.cancel(false);
    }

    /** HTTP/2 streams one visitor connection may have open at once. */
    static final int MAX_CONCURRENT_STREAMS = 100;

    private Http2Visitors() {}

    static void configure(ChannelPipeline p, PublicGateway gateway) {
        // A connection that opens no stream gets what an HTTP/1.1 one without a request gets:
        // closed after FIRST_REQUEST_MILLIS (PINGs would otherwise keep it as long as it likes).
        p.channel()
                .attr(FIRST_STREAM)
                .set(VisitorHandler.closeAfterFirstRequestDeadline(p.channel()));
        p.addLast(new IdleStateHandler(0, 0, PublicGateway.IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast(
                        Http2FrameCodecBuilder.forServer()
                                .initialSettings(
                                        Http2Settings.defaultSettings()
                                                .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
                                                .maxHeaderListSize(PublicGateway.MAX_HEADERS))
                                .build())
                .addLast(
                        new Http2MultiplexHandler(
                                new ChannelInitializer<Http2StreamChannel>() {
                                    @Override
                                    protected void initChannel(Http2StreamChannel ch) {
                                        ch.pipeline()
                                                .addLast(
                                                        new Http2StreamFrameToHttpObjectCodec(true))
                                                .addLast(new DropConversionHeaders())
                                                .addLast(gateway.pauseWatch())
                                                .addLast(new VisitorHandler(gateway, true));
                                    }
                                }))
                .addLast(new IdleClose());
    }

    /**
     * netty's conversion adds {@code x-http2-*} headers (the stream id, the scheme) to the HTTP/1.1
     * request; they are the gateway's bookkeeping, not the visitor's request: dropped.
     */
    private static final class DropConversionHeaders extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest r) {
                for (HttpConversionUtil.ExtensionHeaderNames n :
                        HttpConversionUtil.ExtensionHeaderNames.values())
                    r.headers().remove(n.text());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** The whole connection idle both ways: closed. */
    private static final class IdleClose extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof io.netty.handler.timeout.IdleStateEvent) ctx.close();
            else ctx.fireUserEventTriggered(evt);
        }
    }
}
