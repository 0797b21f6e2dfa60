package dev.appshare.rendezvous;

import dev.appshare.relay.RelayServer;
import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.ServerStats;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code appshare server --metrics-listen}: a small HTTP/1.1 listener on the server's own event
 * loops that answers {@code GET /metrics} with the Prometheus text format (the Prometheus Java
 * client's registry and writer) and {@code GET /healthz} with "ok". Bounded like every server
 * socket here: {@link #PER_ADDRESS} connections per source address and {@link #MAX_CONNECTIONS} in
 * all, a request head of at most {@link #MAX_HEAD} bytes, {@link #TIMEOUT_SECONDS} to send it, one
 * request per connection.
 *
 * <p>The metrics (all read at scrape time from counters the servers keep anyway, or from {@link
 * ServerStats}; see docs/self-hosting.md for their meaning): {@code appshare_shares}, {@code
 * appshare_sessions}, {@code appshare_rendezvous_connections}, {@code appshare_relay_pairs}, {@code
 * appshare_relay_paired_total}, {@code appshare_relay_bytes_total}, {@code
 * appshare_stun_answers_total}, {@code appshare_rejections_total{server,reason}}, {@code
 * appshare_handshake_seconds{stage}}.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);

    /** Connections one source address may hold open (a Prometheus server needs one). */
    public static final int PER_ADDRESS = 4;

    public static final int MAX_CONNECTIONS = 64;

    /** Request line plus headers, in bytes; a scrape's are a few hundred. */
    public static final int MAX_HEAD = 8192;

    /** To send the request, and overall per connection: Prometheus's default scrape timeout. */
    public static final int TIMEOUT_SECONDS = 10;

    /**
     * The latency buckets in seconds: a loopback REGISTER takes ~1 ms, a relay pairing up to 30 s.
     */
    static final double[] BUCKETS = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
    };

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final ServerStats stats;
    private final ConnectionBudget connections = new ConnectionBudget(PER_ADDRESS, MAX_CONNECTIONS);
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel server;
    private long timeoutMillis = TimeUnit.SECONDS.toMillis(TIMEOUT_SECONDS);

    /**
     * Registers the metrics of {@code rendezvous} and {@code relay} (null: a standalone relay,
     * whose own process is not watched here), counted into {@code stats}.
     */
    public MetricsServer(RendezvousServer rendezvous, RelayServer relay, ServerStats stats) {
        this.stats = stats;
        ShareRegistry shares = rendezvous.registry();
        gauge("appshare_shares", "Shares registered now", () -> shares.liveShares());
        gauge(
                "appshare_sessions",
                "Sessions (a connector paired with a share by the rendezvous) open now",
                () -> shares.liveSessions());
        gauge(
                "appshare_rendezvous_connections",
                "Control connections open to the rendezvous now",
                () -> rendezvous.budgets().openConnections());
        if (relay != null) {
            gauge("appshare_relay_pairs", "Relay pairs spliced now", () -> stats.relayPairs.sum());
            counter(
                    "appshare_relay_paired",
                    "Relay pairs spliced since start",
                    () -> stats.relayPairsTotal.sum());
            counter(
                    "appshare_relay_bytes",
                    "Bytes the relay moved between paired connections, both directions",
                    () -> stats.relayBytes.sum());
        }
        gauge(
                "appshare_held_bytes",
                "Bytes queued now for slow readers: relay pairs and gateway visitors",
                () -> stats.heldBytes.sum());
        counter(
                "appshare_stun_answers",
                "STUN Binding requests answered",
                () -> stats.stunAnswers.sum());
        CounterWithCallback.builder()
                .name("appshare_rejections")
                .help("Connections and requests refused, by server and reason (budget or error)")
                .labelNames("server", "reason")
                .callback(
                        cb ->
                                stats.refusals()
                                        .forEach(
                                                (k, n) -> cb.call(n.sum(), k.server(), k.reason())))
                .register(registry);
        Histogram handshakes =
                Histogram.builder()
                        .name("appshare_handshake_seconds")
                        .help(
                                "Handshake latency: register (REGISTER to REGISTERED),"
                                    + " relay_pairing (a relay connection's wait for its partner)")
                        .labelNames("stage")
                        .classicOnly()
                        .classicUpperBounds(BUCKETS)
                        .register(registry);
        stats.onHandshake((stage, nanos) -> handshakes.labelValues(stage).observe(nanos / 1e9));
    }

    /** Adds a gauge read at scrape time (the server adds the gateway's, which lives above). */
    public MetricsServer gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder()
                .name(name)
                .help(help)
                .callback(cb -> cb.call(value.getAsDouble()))
                .register(registry);
        return this;
    }

    private void counter(String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder()
                .name(name)
                .help(help)
                .callback(cb -> cb.call(value.getAsDouble()))
                .register(registry);
    }

    /** Writes the registry in the Prometheus text format. */
    void scrape(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }

    /** A shorter deadline per connection (tests); before {@link #start}. */
    MetricsServer timeoutMillis(long millis) {
        timeoutMillis = millis;
        return this;
    }

    public MetricsServer start(EventLoopGroup group, InetSocketAddress listen)
            throws InterruptedException {
        server =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .option(ChannelOption.SO_BACKLOG, 64)
                        .option(ChannelOption.SO_REUSEADDR, true)
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        String refused = connections.admitUntilClosed(ch);
                                        if (refused != null) {
                                            stats.refused(
                                                    "metrics", ConnectionBudget.reason(refused));
                                            ch.close();
                                            return;
                                        }
                                        children.add(ch);
                                        // The whole exchange within the timeout, not only the
                                        // request: a slow reader of the answer is cut too.
                                        ScheduledFuture<?> deadline =
                                                ch.eventLoop()
                                                        .schedule(
                                                                () -> ch.close(),
                                                                timeoutMillis,
                                                                TimeUnit.MILLISECONDS);
                                        ch.closeFuture().addListener(f -> deadline.cancel(false));
                                        ch.pipeline()
                                                .addLast(
                                                        new HttpServerCodec(
                                                                MAX_HEAD, MAX_HEAD, MAX_HEAD),
                                                        new Answer());
                                    }
                                })
                        .bind(HostPort.resolved(listen))
                        .sync()
                        .channel();
        return this;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    /** Answers the first request and closes; anything after it is not read. */
    private final class Answer extends SimpleChannelInboundHandler<HttpObject> {
        private boolean answered;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) throws IOException {
            if (answered) return;
            if (msg.decoderResult().isFailure()) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "text/plain", text("bad request\n"));
                return;
            }
            if (!(msg instanceof HttpRequest req)) return;
            String path = req.uri();
            int q = path.indexOf('?');
            if (q >= 0) path = path.substring(0, q);
            boolean get = req.method().equals(HttpMethod.GET);
            if (!path.equals("/metrics") && !path.equals("/healthz")) {
                respond(ctx, HttpResponseStatus.NOT_FOUND, "text/plain", text("not found\n"));
            } else if (!get) {
                respond(
                        ctx,
                        HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "text/plain",
                        text("GET only\n"));
            } else if (path.equals("/healthz")) {
                respond(ctx, HttpResponseStatus.OK, "text/plain; charset=utf-8", text("ok\n"));
            } else {
                ByteBuf body = ctx.alloc().buffer();
                try (ByteBufOutputStream out = new ByteBufOutputStream(body)) {
                    scrape(out);
                } catch (IOException | RuntimeException e) {
                    body.release();
                    log.warn("metrics: scrape failed: {}", e.toString());
                    respond(
                            ctx,
                            HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            "text/plain",
                            text("scrape failed\n"));
                    return;
                }
                respond(ctx, HttpResponseStatus.OK, writer.getContentType(), body);
            }
        }

        private ByteBuf text(String s) {
            return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
        }

        private void respond(
                ChannelHandlerContext ctx,
                HttpResponseStatus status,
                String contentType,
                ByteBuf body) {
            answered = true;
            ctx.channel().config().setAutoRead(false);
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
            r.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, contentType)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("metrics connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        children.close().awaitUninterruptibly();
    }
}
