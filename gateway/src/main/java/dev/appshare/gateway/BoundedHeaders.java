package dev.appshare.gateway;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.TooLongHttpHeaderException;

/**
 * Headers that take at most {@link #MAX_FIELDS} fields from the HTTP/1.1 decoder, for the gateway's
 * codecs (visitors' requests and trailers, shares' answers).
 *
 * <p>Why: netty's decoder keeps each header line of a head it has not finished as an entry of its
 * own, about 95 bytes of heap apiece besides the text. A head of the largest size the codec allows
 * ({@link PublicGateway#MAX_HEADERS}, 16 KiB) made of 3,900 tiny lines ({@code a:}) held about 370
 * KB of heap until it ended or timed out; a few addresses, each within its connection budget, left
 * unfinished heads enough to exhaust the heap of a server run as its systemd unit runs it. With at
 * most 100 fields (Apache httpd's {@code LimitRequestFields}) a head holds about 25 KB at worst.
 * Past the limit the decoder fails the message (the visitor gets a 400, an answer a 502), as for a
 * head that is too long.
 *
 * <p>Only the decoder's {@code add} is counted: the gateway's own changes ({@code set}, {@code
 * remove}: the X-Forwarded-* headers) never fail.
 */
final class BoundedHeaders extends DefaultHttpHeaders {
    /** Header fields per head (or per trailer) the gateway reads. */
    static final int MAX_FIELDS = 100;

    /** For {@code HttpDecoderConfig.setHeadersFactory}. */
    static final HttpHeadersFactory HEADERS = factory(DefaultHttpHeadersFactory.headersFactory());

    /** For {@code HttpDecoderConfig.setTrailersFactory}. */
    static final HttpHeadersFactory TRAILERS = factory(DefaultHttpHeadersFactory.trailersFactory());

    private BoundedHeaders(DefaultHttpHeadersFactory base, int sizeHint) {
        super(base.getNameValidator(), base.getValueValidator(), sizeHint);
    }

    private static HttpHeadersFactory factory(DefaultHttpHeadersFactory base) {
        return new HttpHeadersFactory() {
            @Override
            public HttpHeaders newHeaders() {
                return new BoundedHeaders(base, 16);
            }

            @Override
            public HttpHeaders newEmptyHeaders() {
                return new BoundedHeaders(base, 2);
            }
        };
    }

    @Override
    public HttpHeaders add(CharSequence name, Object value) {
        checkRoom();
        return super.add(name, value);
    }

    @Override
    public HttpHeaders add(String name, Object value) {
        checkRoom();
        return super.add(name, value);
    }

    private void checkRoom() {
        if (size() >= MAX_FIELDS)
            throw new TooLongHttpHeaderException("more than " + MAX_FIELDS + " header fields");
    }
}
