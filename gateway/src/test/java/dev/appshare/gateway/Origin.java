package dev.appshare.gateway;

import dev.appshare.wire.net.EventLoops;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The application behind the public share in the gateway's tests: a netty HTTP/1.1 server on
 * loopback with keep-alive and pipelining (as its codec reads them), and these paths:
 *
 * <ul>
 *   <li>{@code /headers}: the request's header lines as it received them, one {@code name: value} a
 *       line (so a test sees what the gateway changed)
 *   <li>{@code /chunked/...}: a chunked response in several parts ({@link #chunkedBody})
 *   <li>{@code /upload}: reads the body as it streams in (chunked or with a length) and answers
 *       {@code SHA256HEX LENGTH}
 *   <li>{@code /download?n=N&seed=S}: N pseudo-random bytes ({@link #fill}), streamed with a length
 *   <li>{@code /ws}: a WebSocket that echoes every frame (netty's {@link
 *       WebSocketServerProtocolHandler})
 *   <li>{@code /until-close}: {@link #bodyFor} the path with neither a length nor chunks, ended by
 *       closing the connection
 *   <li>{@code /chunks-then-close}: a chunked answer cut off by closing the connection
 *   <li>{@code /broken-chunks}: a chunked answer that breaks off in a chunk that does not parse
 *   <li>{@code /big-header?n=N[&fields=F]}: {@link #bodyFor} the path, with a header of N bytes
 *       (and F more header fields)
 *   <li>{@code /quiet-close}: as anything else, then closes without a {@code Connection: close}
 *   <li>anything else: {@link #bodyFor} the path, with a length (HEAD: the length alone)
 * </ul>
 */
final class Origin implements AutoCloseable {
    static final int BLOCK = 64 << 10;

    private final Channel listener;
    private final String tag;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger closed = new AtomicInteger();

    /** Bytes of {@code /download} bodies produced so far, on all connections. */
    final AtomicLong produced = new AtomicLong();

    /**
     * Each upload as it goes: {@code started} when its head comes, then {@code SHA256HEX LENGTH}
     * for a body received whole, or {@code broken LENGTH} for one whose connection closed, or whose
     * encoding broke, before its end.
     */
    final BlockingQueue<String> uploads = new LinkedBlockingQueue<>();

    private Origin(Channel listener, String tag) {
        this.listener = listener;
        this.tag = tag;
    }

    /** Starts on an ephemeral loopback port; {@code tag} goes into every plain body. */
    static Origin start(EventLoopGroup group, String tag) throws InterruptedException {
        Origin[] self = new Origin[1];
        Channel ch =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        self[0].connections.incrementAndGet();
                                        ch.closeFuture()
                                                .addListener(f -> self[0].closed.incrementAndGet());
                                        ch.pipeline()
                                                .addLast("codec", new HttpServerCodec())
                                                .addLast(new HttpServerExpectContinueHandler())
                                                .addLast("chunked", new ChunkedWriteHandler())
                                                .addLast(
                                                        "app",
                                                        new App(
                                                                tag,
                                                                self[0].uploads,
                                                                self[0].produced));
                                    }
                                })
                        .bind(new InetSocketAddress("127.0.0.1", 0))
                        .sync()
                        .channel();
        self[0] = new Origin(ch, tag);
        return self[0];
    }

    int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port());
    }

    static byte[] bodyFor(String tag, String path) {
        return (tag + " answers " + path + "\n").getBytes(StandardCharsets.UTF_8);
    }

    byte[] bodyFor(String path) {
        return bodyFor(tag, path);
    }

    static final int CHUNKS = 5;

    static String chunkedBody(String path) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < CHUNKS; i++) b.append("part ").append(i).append(" of ").append(path);
        return b.toString();
    }

    /** The {@code i}-th block of the pseudo-random stream {@code seed} (BLOCK bytes, or fewer). */
    static void fill(SplittableRandom r, byte[] buf, int n) {
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) buf[i + j] = (byte) (v >>> (8 * j));
        }
    }

    /** SHA-256 (hex) of {@code len} bytes of the pseudo-random stream {@code seed}. */
    static String digestOf(long len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        MessageDigest md = sha256();
        byte[] buf = new byte[BLOCK];
        for (long left = len; left > 0; ) {
            int n = (int) Math.min(BLOCK, left);
            fill(r, buf, n);
            md.update(buf, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
    }

    /** One connection's requests, in the order the codec reads them. */
    private static final class App extends ChannelInboundHandlerAdapter {
        private final String tag;
        private final BlockingQueue<String> uploads;
        private final AtomicLong produced;
        private HttpRequest request;
        private MessageDigest upload;
        private long uploaded;

        App(String tag, BlockingQueue<String> uploads, AtomicLong produced) {
            this.tag = tag;
            this.uploads = uploads;
            this.produced = produced;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (upload != null) uploads.add("broken " + uploaded);
            upload = null;
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest req) {
                request = req;
                if (req.uri().startsWith("/ws")) {
                    toWebSocket(ctx, msg);
                    return;
                }
                upload = req.uri().startsWith("/upload") ? sha256() : null;
                if (upload != null) uploads.add("started");
                uploaded = 0;
            }
            if (msg instanceof HttpContent c) {
                if (upload != null) {
                    ByteBuf b = c.content();
                    upload.update(b.nioBuffer());
                    uploaded += b.readableBytes();
                }
                if (c.decoderResult().isFailure()) {
                    // A body that ended badly (its connection closed, a chunk did not parse): no
                    // answer, as an application would give none to a request it never got whole.
                    if (upload != null) uploads.add("broken " + uploaded);
                    upload = null;
                    ReferenceCountUtil.release(msg);
                    ctx.close();
                    return;
                }
                if (msg instanceof LastHttpContent) answer(ctx);
            }
            ReferenceCountUtil.release(msg);
        }

        /** From this request on the connection is a WebSocket: netty's handlers take it over. */
        private void toWebSocket(ChannelHandlerContext ctx, Object msg) {
            ChannelPipeline p = ctx.pipeline();
            p.addBefore("app", "aggregate", new HttpObjectAggregator(1 << 16));
            p.addBefore(
                    "app",
                    "ws",
                    new WebSocketServerProtocolHandler(
                            WebSocketServerProtocolConfig.newBuilder()
                                    .websocketPath("/ws")
                                    .maxFramePayloadLength(4 << 20)
                                    .build()));
            p.addBefore("app", "echo", new Echo());
            p.remove(this);
            p.context("chunked").fireChannelRead(msg);
        }

        private void answer(ChannelHandlerContext ctx) {
            HttpRequest req = request;
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String uri = req.uri();
            QueryStringDecoder q = new QueryStringDecoder(uri);
            String path = q.path();
            if (path.equals("/download")) {
                long n = Long.parseLong(q.parameters().get("n").get(0));
                long seed = Long.parseLong(q.parameters().get("seed").get(0));
                HttpResponse r =
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                r.headers()
                        .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                        .set(HttpHeaderNames.CONTENT_LENGTH, n);
                keepAlive(r, keepAlive);
                ctx.write(r);
                end(
                        ctx.writeAndFlush(new HttpChunkedInput(new RandomBytes(n, seed, produced))),
                        keepAlive);
                return;
            }
            if (path.equals("/chunks-then-close")) {
                // A chunked answer cut off by the application closing its connection.
                HttpResponse r =
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setTransferEncodingChunked(r, true);
                ctx.write(r);
                ctx.writeAndFlush(
                                new DefaultHttpContent(
                                        Unpooled.copiedBuffer(
                                                "before the close", StandardCharsets.UTF_8)))
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            if (path.equals("/broken-chunks")) {
                // A chunked answer whose second chunk does not parse, then nothing more.
                HttpResponse r =
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setTransferEncodingChunked(r, true);
                ctx.write(r);
                ctx.writeAndFlush(
                        new DefaultHttpContent(
                                Unpooled.copiedBuffer("before the break", StandardCharsets.UTF_8)));
                ctx.pipeline()
                        .context("codec")
                        .writeAndFlush(
                                Unpooled.copiedBuffer(
                                        "zz\r\nnot a chunk\r\n", StandardCharsets.US_ASCII));
                return;
            }
            if (path.startsWith("/chunked")) {
                HttpResponse r =
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                HttpUtil.setTransferEncodingChunked(r, true);
                keepAlive(r, keepAlive);
                ctx.write(r);
                for (int i = 0; i < CHUNKS; i++)
                    ctx.write(
                            new DefaultHttpContent(
                                    Unpooled.copiedBuffer(
                                            "part " + i + " of " + path, StandardCharsets.UTF_8)));
                end(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), keepAlive);
                return;
            }
            if (path.equals("/until-close")) {
                // No length, not chunked: the body ends when the connection does.
                HttpResponse r =
                        new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.write(r);
                ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(bodyFor(tag, uri))));
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
                        .addListener(ChannelFutureListener.CLOSE);
                return;
            }
            byte[] body;
            if (path.equals("/upload")) {
                String got = HexFormat.of().formatHex(upload.digest()) + " " + uploaded;
                upload = null;
                uploads.add(got);
                body = got.getBytes(StandardCharsets.US_ASCII);
            } else if (path.equals("/big-header")) {
                body = bodyFor(tag, uri);
                FullHttpResponse r =
                        new DefaultFullHttpResponse(
                                HttpVersion.HTTP_1_1,
                                HttpResponseStatus.OK,
                                Unpooled.wrappedBuffer(body));
                int n = Integer.parseInt(q.parameters().get("n").get(0));
                r.headers()
                        .set("X-Big", "x".repeat(n))
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
                List<String> fields = q.parameters().get("fields");
                int f = fields == null ? 0 : Integer.parseInt(fields.get(0));
                for (int i = 0; i < f; i++) r.headers().add("X-F-" + i, i);
                end(ctx.writeAndFlush(r), keepAlive);
                return;
            } else if (path.equals("/headers")) {
                StringBuilder b = new StringBuilder();
                for (Map.Entry<String, String> h : req.headers())
                    b.append(h.getKey()).append(": ").append(h.getValue()).append('\n');
                body = b.toString().getBytes(StandardCharsets.UTF_8);
            } else {
                body = bodyFor(tag, uri);
            }
            boolean head = req.method().equals(HttpMethod.HEAD);
            FullHttpResponse r =
                    new DefaultFullHttpResponse(
                            HttpVersion.HTTP_1_1,
                            HttpResponseStatus.OK,
                            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
            r.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, "text/plain")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            keepAlive(r, keepAlive);
            // /quiet-close: a keep-alive answer, then the connection closes without having said
            // so, as an application's keep-alive timeout closes an idle one.
            end(ctx.writeAndFlush(r), keepAlive && !path.equals("/quiet-close"));
        }

        private static void keepAlive(HttpResponse r, boolean keepAlive) {
            if (!keepAlive) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }

        private static void end(io.netty.channel.ChannelFuture f, boolean keepAlive) {
            if (!keepAlive) f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Echoes every WebSocket data frame back as it came. */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof WebSocketFrame f) {
                ctx.writeAndFlush(f);
                return;
            }
            ReferenceCountUtil.release(msg);
        }
    }

    /** {@code len} bytes of the pseudo-random stream {@code seed}, a block at a time. */
    private static final class RandomBytes implements ChunkedInput<ByteBuf> {
        private final long len;
        private final SplittableRandom random;
        private final byte[] buf = new byte[BLOCK];
        private final AtomicLong produced;
        private long sent;

        RandomBytes(long len, long seed, AtomicLong produced) {
            this.len = len;
            this.random = new SplittableRandom(seed);
            this.produced = produced;
        }

        @Override
        public boolean isEndOfInput() {
            return sent >= len;
        }

        @Override
        public void close() {}

        @Deprecated
        @Override
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator alloc) {
            if (isEndOfInput()) return null;
            int n = (int) Math.min(BLOCK, len - sent);
            fill(random, buf, n);
            sent += n;
            produced.addAndGet(n);
            return alloc.buffer(n).writeBytes(buf, 0, n);
        }

        @Override
        public long length() {
            return len;
        }

        @Override
        public long progress() {
            return sent;
        }
    }
}
