package dev.appshare.gateway;

import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.wire.http.BasicAuth;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.tunnel.StreamEnds;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One visitor connection, after the HTTP codec: routes it by its first request's Host to a public
 * share, checks the share's credentials on every request, replaces the {@code X-Forwarded-*}
 * headers, and carries every request, in order, onto one stream of the share's tunnel (so
 * keep-alive and pipelining are the application's, byte for byte but for those headers). Responses
 * come back through {@link BackendHandler}. After a {@code 101 Switching Protocols} (a WebSocket)
 * both sides drop their HTTP codecs and carry raw bytes. Runs on the visitor's event loop; the
 * stream lives on its tunnel's.
 */
final class VisitorHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(VisitorHandler.class);

    /** The codec's name in the visitor's pipeline, removed after an upgrade. */
    static final String CODEC = "http";

    /** How long a new connection may take to send its first request's head. */
    static final long FIRST_REQUEST_MILLIS = 10_000;

    /**
     * Closes {@code ch} after {@link #FIRST_REQUEST_MILLIS} unless the returned deadline is
     * cancelled first (it is, by itself, when the channel closes): for a connection as a whole (an
     * HTTP/2 connection until a stream is routed, a redirect connection for its whole life).
     */
    static java.util.concurrent.ScheduledFuture<?> closeAfterFirstRequestDeadline(Channel ch) {
        java.util.concurrent.ScheduledFuture<?> deadline =
                ch.eventLoop()
                        .schedule(
                                (Runnable) ch::close, FIRST_REQUEST_MILLIS, TimeUnit.MILLISECONDS);
        ch.closeFuture().addListener(f -> deadline.cancel(false));
        return deadline;
    }

    /** What a visitor handler looks labels up in: the gateway, or a test's table. */
    interface Routes {
        /** The gateway's domain: hosts are {@code LABEL.DOMAIN}. */
        String domain();

        /** The live public share with this label, or null. */
        ShareRegistry.Share publicShare(String label);

        /** Whether the label's public share left within its reservation (502, not 404). */
        boolean wasPublic(String label);

        /** Where tunnels to public shares come from. */
        GatewayTunnels tunnels();

        /** Whether the registry and the tunnels are there yet (not while the server starts). */
        boolean attached();

        /**
         * Counts a tunnel stream of a visitor from {@code from} (null: not an IP connection): null
         * if admitted ({@link #streamEnded} once it ends), else why not.
         */
        default String admitStream(InetAddress from) {
            return null;
        }

        default void streamEnded(InetAddress from) {}

        /**
         * Spends one of {@code from}'s tries at credentials, or says it has none left (then they
         * are not checked).
         */
        default boolean tryCredentials(InetAddress from) {
            return true;
        }

        /** {@code from}'s credentials were right: the try it spent is given back. */
        default void rightCredentials(InetAddress from) {}
    }

    private final Routes gateway;
    private final boolean https;
    private Channel visitor;
    private ScheduledFuture<?> firstRequestDeadline;
    private String label;
    private String auth;
    private QuicStreamChannel stream;
    private BackendHandler backend; // the stream's side of this connection
    private final ArrayDeque<Object> pending = new ArrayDeque<>(); // until the stream is open
    private boolean opening;
    private boolean refused; // answered with an error page: the rest of what it sent is dropped
    private boolean upgradeAsked; // a request asked to switch protocols: wait for its answer
    private boolean waitingUpgrade; // reading paused until that answer
    private volatile boolean mayUpgrade; // a request carried asked to upgrade: a 101 may answer it
    private boolean upgraded; // raw bytes both ways from now on

    /**
     * Requests carried to the share and not answered yet (a final answer, or a 101): read by the
     * stream's side, which refuses an answer nobody asked for ({@link BackendHandler}).
     */
    private volatile AtomicInteger awaiting = new AtomicInteger(); // a new one for each stream

    VisitorHandler(Routes gateway, boolean https) {
        this.gateway = gateway;
        this.https = https;
    }

    /**
     * Added once the channel is registered: at accept time for plain HTTP and HTTP/2 streams, after
     * the TLS handshake (channel long active) for HTTPS, so nothing here waits for channelActive.
     */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        visitor = ctx.channel();
        firstRequestDeadline =
                ctx.executor()
                        .schedule(
                                () -> {
                                    if (label == null && !refused) ctx.close();
                                },
                                FIRST_REQUEST_MILLIS,
                                TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (upgraded) {
            forward(msg);
            return;
        }
        if (msg instanceof HttpRequest req && !admit(ctx, req)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(msg instanceof HttpRequest) && !(msg instanceof HttpContent)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpContent c && c.decoderResult().isFailure()) {
            // A body that broke off (a chunk that does not parse): the codec hands its end over as
            // a LastHttpContent, which carried on would end the request cleanly and give the share
            // a truncated body as the whole one. The stream is closed instead.
            ReferenceCountUtil.release(msg);
            refuse(HttpResponseStatus.BAD_REQUEST, GatewayPages.BAD_REQUEST);
            return;
        }
        forward(msg);
        if (msg instanceof LastHttpContent && upgradeAsked) {
            // What follows an Upgrade request is the new protocol's if the answer is 101: read
            // nothing more as HTTP until the answer comes.
            upgradeAsked = false;
            waitingUpgrade = true;
            visitor.config().setAutoRead(false);
        }
    }

    /**
     * Routes and checks one request head; false if it was answered here (an error page, and the
     * connection closes).
     */
    private boolean admit(ChannelHandlerContext ctx, HttpRequest req) {
        if (req.decoderResult().isFailure()) {
            refuse(HttpResponseStatus.BAD_REQUEST, GatewayPages.BAD_REQUEST);
            return false;
        }
        String host = req.headers().get(HttpHeaderNames.HOST);
        String l = HostLabel.of(host, gateway.domain());
        if (l != null && label != null && !l.equals(label)) leaveShare();
        if (l == null
                || (label != null && !l.equals(label))
                || !oneHost(req, host)
                || !sameAuthority(req.uri(), host)) {
            refuse(HttpResponseStatus.BAD_REQUEST, GatewayPages.BAD_HOST);
            return false;
        }
        if (label == null) {
            if (!gateway.attached()) {
                // Bound but not attached yet (the server is starting): no registry to look in,
                // which is not "no such share".
                refuse(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayPages.BUSY);
                return false;
            }
            ShareRegistry.Share share = gateway.publicShare(l);
            if (share == null) {
                if (gateway.wasPublic(l))
                    refuse(HttpResponseStatus.BAD_GATEWAY, GatewayPages.OFFLINE);
                else refuse(HttpResponseStatus.NOT_FOUND, GatewayPages.NOT_FOUND);
                return false;
            }
            label = l;
            auth = share.auth();
            firstRequestDeadline.cancel(false);
            Http2Visitors.routed(visitor); // an HTTP/2 stream: its connection's deadline too
        }
        InetAddress from = visitorAddress();
        if (auth != null) {
            String given = req.headers().get(HttpHeaderNames.AUTHORIZATION);
            // Credentials are checked only while the address has tries left: past its budget
            // even the right ones wait, or a guesser would learn when it found them. The try is
            // spent before the check (and given back if they were right), so a budget that
            // cannot count an address (its table full) refuses rather than lets it guess freely.
            // A first ask, without credentials, is no guess.
            if (given != null && !gateway.tryCredentials(from)) {
                refuse(HttpResponseStatus.TOO_MANY_REQUESTS, GatewayPages.TOO_MANY_GUESSES);
                return false;
            }
            if (!BasicAuth.matches(given, auth)) {
                refuse(HttpResponseStatus.UNAUTHORIZED, GatewayPages.UNAUTHORIZED);
                return false;
            }
            if (given != null) gateway.rightCredentials(from);
        }
        ForwardedHeaders.replace(req.headers(), from, https, host);
        if (req.headers().contains(HttpHeaderNames.UPGRADE)
                && req.headers()
                        .containsValue(
                                HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            upgradeAsked = true;
            mayUpgrade = true;
        }
        return true;
    }

    /** The visitor's IP address; null when it has none (tests' channels). */
    private InetAddress visitorAddress() {
        return visitor.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
    }

    /**
     * A request for another share on a connection that served one: a reverse proxy in front of the
     * gateway keeps its connections and sends any visitor's request on any of them. When every
     * request carried has its answer (and nothing is being opened or upgraded), the connection
     * leaves its share: its stream ends, quietly for the visitor, and the request is routed afresh.
     * Otherwise the request is refused (400): answers would come back out of order.
     */
    private void leaveShare() {
        if (stream == null
                || opening
                || upgraded
                || upgradeAsked
                || waitingUpgrade
                || !pending.isEmpty()
                || awaiting.get() != 0
                || backend.answering()) return;
        backend.detach();
        StreamEnd.close(stream);
        stream = null;
        backend = null;
        awaiting = new AtomicInteger(); // the old stream's late answers count against its own
        label = null;
        auth = null;
    }

    /**
     * Whether every Host header of the request names {@code host}: two that differ are refused (RFC
     * 9112 3.2; routed by one, the application might read the other). Equal ones are taken: netty's
     * HTTP/2 conversion adds {@code :authority} as a Host beside a {@code host} header the request
     * may also carry, with the same value (RFC 9113 8.3.1).
     */
    private static boolean oneHost(HttpRequest req, String host) {
        for (String h : req.headers().getAll(HttpHeaderNames.HOST))
            if (!h.equalsIgnoreCase(host)) return false;
        return true;
    }

    /**
     * Whether a request target in absolute form ({@code http://HOST/path}) names the Host the
     * request was routed by: the share would otherwise be handed a target naming another share than
     * the one whose label routed it. Origin-form targets ({@code /path}) always do.
     */
    static boolean sameAuthority(String uri, String host) {
        int scheme = uri.indexOf("://");
        if (scheme < 0 || uri.startsWith("/")) return true;
        int start = scheme + 3;
        int end = start;
        while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) end++;
        return uri.substring(start, end).equalsIgnoreCase(host);
    }

    /**
     * Answers with an error page and closes. Requests already carried to the share lose their
     * answers: only the first request can be refused before anything was carried, except a later
     * one that fails the credentials or names another share, which a browser does not send.
     */
    private void refuse(HttpResponseStatus status, String page) {
        refused = true;
        dropPending();
        if (stream != null) StreamEnd.close(stream);
        GatewayPages.send(visitor, status, page);
    }

    private void forward(Object msg) {
        if (msg instanceof HttpRequest && !upgraded) awaiting.incrementAndGet();
        if (msg instanceof LastHttpContent last) ForwardedHeaders.dropFromTrailers(last);
        if (stream != null) {
            stream.write(msg);
            if (!stream.isWritable()) visitor.config().setAutoRead(false);
            return;
        }
        pending.add(msg);
        visitor.config().setAutoRead(false); // held until the stream is open: a bounded amount
        if (!opening) open();
    }

    private void open() {
        opening = true;
        gateway.tunnels()
                .get(label)
                .addListener(
                        f -> {
                            if (!f.isSuccess()) {
                                visitor.eventLoop().execute(() -> unreachable(f.cause()));
                                return;
                            }
                            GatewayTunnel t = (GatewayTunnel) f.getNow();
                            visitor.eventLoop().execute(() -> moveTo(t));
                        });
    }

    /**
     * On the visitor's loop: puts this connection on its share's tunnel's event loop (epoll only,
     * as the relay does with a pair: {@link EventLoops#canMove}), so that its requests and answers
     * cross between the connection and its stream in one thread, as {@code connect}'s local
     * connections do, instead of being handed from one loop to the other twice per request. The
     * connection reads nothing meanwhile (auto-read is off while the stream opens); its idle clock
     * restarts on the new loop.
     */
    private void moveTo(GatewayTunnel t) {
        if (!visitor.isActive() || refused) {
            opening = false;
            dropPending();
            return;
        }
        EventLoop to = t.loop();
        if (visitor.eventLoop() == to || !EventLoops.canMove(visitor)) {
            openStream(t);
            return;
        }
        EventLoops.moveTo(visitor, to)
                .addListener(
                        moved -> {
                            if (!moved.isSuccess()) {
                                log.debug(
                                        "visitor {}: not moved to its tunnel's loop: {}",
                                        visitor.remoteAddress(),
                                        moved.cause().toString());
                                opening = false;
                                dropPending();
                                visitor.close();
                                return;
                            }
                            ChannelPipeline p = visitor.pipeline();
                            if (p.get(IdleStateHandler.class) != null)
                                p.replace(
                                        IdleStateHandler.class,
                                        null,
                                        new IdleStateHandler(
                                                0,
                                                0,
                                                PublicGateway.IDLE_SECONDS,
                                                TimeUnit.SECONDS));
                            openStream(t);
                        });
    }

    private void openStream(GatewayTunnel t) {
        InetAddress from = visitorAddress();
        String refused = gateway.admitStream(from);
        if (refused != null) {
            visitor.eventLoop().execute(() -> unreachable(true, refused));
            return;
        }
        gateway.tunnels()
                .openStream(t, backend = new BackendHandler(this, visitor, awaiting))
                .addListener(
                        s -> {
                            if (!s.isSuccess()) {
                                gateway.streamEnded(from);
                                visitor.eventLoop().execute(() -> unreachable(s.cause()));
                                return;
                            }
                            QuicStreamChannel stream = (QuicStreamChannel) s.getNow();
                            stream.closeFuture().addListener(c -> gateway.streamEnded(from));
                            streamCreated(stream);
                        });
    }

    /**
     * On the stream's loop: the preamble, then the request codec (after the end records' counter,
     * which sees the bytes: GatewayTunnels tracks the stream), then the visitor's requests.
     */
    private void streamCreated(QuicStreamChannel s) {
        // The share's gateway session reaches only its public port: "the only port" asks for it.
        s.writeAndFlush(Unpooled.wrappedBuffer(StreamPreamble.encode(0, true)));
        s.pipeline()
                .addAfter(
                        StreamEnds.HANDLER_NAME,
                        CODEC,
                        new HttpClientCodec(PublicGateway.decoderConfig(), false, false));
        visitor.eventLoop().execute(() -> streamOpen(s));
    }

    private void streamOpen(QuicStreamChannel s) {
        opening = false;
        if (!visitor.isActive() || refused) {
            dropPending();
            StreamEnd.close(s);
            return;
        }
        stream = s;
        while (!pending.isEmpty()) stream.write(pending.poll());
        stream.flush();
        stream.config().setAutoRead(true);
        resumeReading();
    }

    /** No tunnel or no stream: 503 when the gateway or the share is busy, otherwise 502. */
    private void unreachable(Throwable cause) {
        unreachable(cause instanceof GatewayTunnels.NoTunnel n && n.busy, cause.toString());
    }

    private void unreachable(boolean busy, String why) {
        opening = false;
        log.debug("visitor {}: share {} unreachable: {}", visitor.remoteAddress(), label, why);
        if (refused) return;
        if (busy) refuse(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayPages.BUSY);
        else refuse(HttpResponseStatus.BAD_GATEWAY, GatewayPages.UNREACHABLE);
    }

    private void dropPending() {
        while (!pending.isEmpty()) ReferenceCountUtil.release(pending.poll());
    }

    /** Reads again unless waiting for an upgrade's answer or the stream is full. */
    void resumeReading() {
        if (!waitingUpgrade && !refused && (stream == null || stream.isWritable()))
            visitor.config().setAutoRead(true);
    }

    /** From the stream's loop: it takes more again. */
    void streamDrained() {
        visitor.eventLoop().execute(this::resumeReading);
    }

    /** From the stream's loop: the share answered the Upgrade request other than with 101. */
    void upgradeRefused() {
        // Not while requests still wait (a pipelined Upgrade request after a GET): its 101 may
        // still come.
        if (awaiting.get() == 0) mayUpgrade = false;
        visitor.eventLoop()
                .execute(
                        () -> {
                            waitingUpgrade = false;
                            resumeReading();
                        });
    }

    /**
     * From the stream's loop, right after it wrote the 101 to the visitor: drop the HTTP codec (in
     * this loop's order, so after the 101 is encoded) and carry raw bytes both ways.
     */
    void switchToRaw() {
        Runnable toRaw =
                () -> {
                    upgraded = true;
                    waitingUpgrade = false;
                    visitor.flush();
                    if (visitor.pipeline().get(CODEC) != null) visitor.pipeline().remove(CODEC);
                    resumeReading();
                };
        // On the same loop, at once: the application's first bytes after the 101, which may come
        // in the same read, are written next and must meet no HTTP encoder (it dropped them).
        // From another loop, those writes are queued behind this task.
        if (visitor.eventLoop().inEventLoop()) toRaw.run();
        else visitor.eventLoop().execute(toRaw);
    }

    /** Whether a request carried asked to switch protocols, so that a 101 may answer it. */
    boolean mayUpgrade() {
        return mayUpgrade;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (stream != null) stream.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // The stream reads (the share's answers) only while the visitor takes them.
        if (stream != null) stream.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (firstRequestDeadline != null) firstRequestDeadline.cancel(false);
        dropPending();
        if (stream != null) StreamEnd.close(stream);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("visitor {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
