package dev.appshare.gateway;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The gateway's own answers: short plain-text pages that name nothing (not the share, not the
 * label, not why beyond the status), each closing the visitor's connection.
 */
final class GatewayPages {
    private GatewayPages() {}

    static final String BAD_HOST = "400 Bad Request: this address names no share.\n";
    static final String BAD_REQUEST = "400 Bad Request: the request could not be read.\n";
    static final String NOT_FOUND = "404 Not Found\n";
    static final String OFFLINE = "502 Bad Gateway: this share is offline.\n";
    static final String UNREACHABLE = "502 Bad Gateway: the share could not be reached.\n";
    static final String APP_UNREACHABLE =
            "502 Bad Gateway: the share's application did not answer (is it running?).\n";
    static final String SHARE_BUSY =
            "503 Service Unavailable: the share holds its most connections; try again.\n";
    static final String UNAUTHORIZED = "401 Unauthorized\n";
    static final String TOO_MANY_GUESSES =
            "429 Too Many Requests: too many wrong credentials from your address; try again"
                    + " later.\n";
    static final String BUSY = "503 Service Unavailable: the gateway is busy; try again.\n";

    /** Writes {@code status} with {@code body} and closes the connection once it is sent. */
    static void send(Channel visitor, HttpResponseStatus status, String body) {
        FullHttpResponse r = page(status, body);
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (status.code() == 401)
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"appshare\"");
        visitor.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    static FullHttpResponse page(HttpResponseStatus status, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, b.length)
                .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return r;
    }
}
