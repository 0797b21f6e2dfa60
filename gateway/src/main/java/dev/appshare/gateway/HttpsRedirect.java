package dev.appshare.gateway;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The plain-HTTP listener when HTTPS listens too: every request for {@code LABEL.DOMAIN} is sent to
 * the same path over HTTPS (308, which keeps the method and body), and nothing is carried over
 * plain HTTP. A bad Host is 400, as on the gateway proper.
 */
final class HttpsRedirect extends SimpleChannelInboundHandler<HttpObject> {
    private final String domain;
    private final int httpsPort;

    HttpsRedirect(String domain, int httpsPort) {
        this.domain = domain;
        this.httpsPort = httpsPort;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (!(msg instanceof HttpRequest req)) return; // a body: the answer is on its way
        String host = req.headers().get(HttpHeaderNames.HOST);
        String label = req.decoderResult().isSuccess() ? HostLabel.of(host, domain) : null;
        if (label == null) {
            GatewayPages.send(ctx.channel(), HttpResponseStatus.BAD_REQUEST, GatewayPages.BAD_HOST);
            return;
        }
        String uri = req.uri().startsWith("/") ? req.uri() : "/";
        String location =
                "https://" + label + "." + domain + (httpsPort == 443 ? "" : ":" + httpsPort) + uri;
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, HttpResponseStatus.PERMANENT_REDIRECT);
        r.headers()
                .set(HttpHeaderNames.LOCATION, location)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, 0)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
}
