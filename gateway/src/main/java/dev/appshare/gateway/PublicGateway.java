package dev.appshare.gateway;

import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.rendezvous.ClientBudgets;
import dev.appshare.rendezvous.PublicUrls;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.wire.net.AddressBudget;
import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HeldBytesBudget;
import dev.appshare.wire.net.HeldBytesHandler;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.tunnel.PauseWatch;
import dev.appshare.wire.tunnel.PausedStreams;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code appshare server --http-listen}: the public HTTP gateway. A request for {@code
 * LABEL.DOMAIN} goes to the public share with that label, through a tunnel the gateway opens as a
 * connector would (one stream per visitor connection); shares that did not ask to be public are not
 * reachable this way. Binds first ({@link #bind}), so the server can tell shares the URL's real
 * port, then serves once {@link #attach}ed to the rendezvous.
 */
public final class PublicGateway implements AutoCloseable, VisitorHandler.Routes {
    private static final Logger log = LoggerFactory.getLogger(PublicGateway.class);

    /** A request line, the headers together, and a body chunk the codecs hold at most. */
    static final int MAX_LINE = 8192, MAX_HEADERS = 16384, MAX_CHUNK = 65536;

    /**
     * What every HTTP/1.1 decoder of the gateway reads at most (visitors' requests, shares'
     * answers): the limits above and {@link BoundedHeaders#MAX_FIELDS} header fields.
     */
    static HttpDecoderConfig decoderConfig() {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_LINE)
                .setMaxHeaderSize(MAX_HEADERS)
                .setMaxChunkSize(MAX_CHUNK)
                .setHeadersFactory(BoundedHeaders.HEADERS)
                .setTrailersFactory(BoundedHeaders.TRAILERS);
    }

    /** A visitor connection silent both ways for this long is closed. */
    static final long IDLE_SECONDS = 120;

    /**
     * Per visitor connection: what the gateway queues for a slow reader before it stops reading.
     */
    static final int QUEUE_LOW = 64 * 1024, QUEUE_HIGH = 256 * 1024;

    /** Visitor connections per source address at once (IPv4 /32, IPv6 /64). */
    static final int CONNECTIONS_PER_ADDRESS = 128;

    /**
     * Tunnel streams per source address at once, and in all. Each is a connection to the shared
     * application (a descriptor and, in many applications, a thread there): an HTTP/1.1 visitor
     * connection is one, but an HTTP/2 connection carries up to {@link
     * Http2Visitors#MAX_CONCURRENT_STREAMS}, so counting connections alone let one address hold
     * 12,800 of the application's connections.
     */
    static final int STREAMS_PER_ADDRESS = 256, STREAMS_TOTAL = 16_384;

    /**
     * @param http where plain HTTP listens (null: none); it redirects to HTTPS when {@code https}
     *     listens too
     * @param https where HTTPS listens (null: none); needs {@code tlsCert} and {@code tlsKey}
     * @param domain the domain under which labels are looked up: {@code LABEL.DOMAIN}
     * @param tlsCert PEM certificate chain for {@code *.DOMAIN} (with {@code https})
     * @param tlsKey its PEM private key
     */
    public record Options(
            InetSocketAddress http,
            InetSocketAddress https,
            String domain,
            Path tlsCert,
            Path tlsKey) {
        /** Plain HTTP only. */
        public Options(InetSocketAddress http, String domain) {
            this(http, null, domain, null, null);
        }
    }

    private final Options options;
    private final EventLoopGroup group;
    private final PeerIdentity identity = PeerIdentity.generate();
    private final ConnectionBudget visitors =
            new ConnectionBudget(
                    CONNECTIONS_PER_ADDRESS, ConnectionBudget.fromDescriptors(4, 16_384));
    private volatile ConnectionBudget streams =
            new ConnectionBudget(STREAMS_PER_ADDRESS, STREAMS_TOTAL);

    /**
     * Wrong {@code --public-auth} credentials per visitor address: a burst of {@value
     * #GUESS_BURST}, then one per {@value #GUESS_INTERVAL_SECONDS} s (600 a day). Without it one
     * address tried about 175,000 passwords a second, and a password a person chose falls to far
     * fewer.
     */
    static final int GUESS_BURST = 20;

    static final long GUESS_INTERVAL_SECONDS = 60;

    private volatile AddressBudget guesses = guessBudgetOf(ClientBudgets.MAX_ADDRESSES);

    /** The credentials budget, its table holding {@code addresses} in debt. */
    private static AddressBudget guessBudgetOf(int addresses) {
        return AddressBudget.perInterval(
                TimeUnit.SECONDS.toNanos(GUESS_INTERVAL_SECONDS),
                GUESS_BURST,
                addresses,
                System::nanoTime);
    }

    @Override
    public boolean tryCredentials(InetAddress from) {
        if (from == null || guesses.tryTake(from)) return true;
        stats.refused("gateway", "credentials");
        rejections.refused("too many wrong credentials", from.getHostAddress());
        return false;
    }

    @Override
    public void rightCredentials(InetAddress from) {
        if (from != null) guesses.giveBack(from);
    }

    /** A credentials budget of its own (tests): its table holds {@code addresses}. */
    void guessBudget(int addresses) {
        guesses = guessBudgetOf(addresses);
    }

    /** Stream budgets of its own (tests), before any visitor comes. */
    void streamBudget(int perAddress, int total) {
        streams = new ConnectionBudget(perAddress, total);
    }

    private final RejectionLog rejections =
            new RejectionLog(log, RejectionLog.INTERVAL_NANOS, System::nanoTime);
    private Channel httpListener;
    private Channel httpsListener;
    private TlsFiles tls;
    private volatile RendezvousServer server;
    private volatile GatewayTunnels tunnels;

    private PublicGateway(Options options, EventLoopGroup group) {
        this.options = options;
        this.group = group;
    }

    /** Binds the listeners; until {@link #attach} visitors get 503 (the server is starting). */
    public static PublicGateway bind(Options options, EventLoopGroup group)
            throws InterruptedException, SSLException {
        if (options.http() == null && options.https() == null)
            throw new IllegalArgumentException("no listener");
        PublicGateway g = new PublicGateway(options, group);
        try {
            if (options.https() != null) {
                g.tls = new TlsFiles(options.tlsCert(), options.tlsKey());
                g.httpsListener = g.listen(options.https(), true);
            }
            if (options.http() != null) g.httpListener = g.listen(options.http(), false);
        } catch (RuntimeException | InterruptedException | SSLException e) {
            g.close();
            throw e;
        }
        return g;
    }

    private Channel listen(InetSocketAddress at, boolean https) throws InterruptedException {
        if (at.isUnresolved()) at = new InetSocketAddress(at.getHostString(), at.getPort());
        return new ServerBootstrap()
                .group(group)
                .channel(EventLoops.serverSocket())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(
                        ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(QUEUE_LOW, QUEUE_HIGH))
                .childHandler(
                        new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                if (!admit(ch)) return;
                                if (https) {
                                    SslHandler ssl = tls.context().newHandler(ch.alloc());
                                    ssl.setCumulator(TightCumulator.INSTANCE);
                                    ch.pipeline()
                                            .addLast(ssl)
                                            .addLast(HELD, heldBytesHandler())
                                            .addLast(new Alpn());
                                } else if (httpsListener != null) {
                                    redirectPipeline(ch.pipeline());
                                } else {
                                    ch.pipeline().addLast(HELD, heldBytesHandler());
                                    visitorPipeline(ch.pipeline(), false);
                                }
                            }
                        })
                .bind(at)
                .sync()
                .channel();
    }

    /** The pipeline of one visitor connection: idle limit, HTTP/1.1 codec, the routing handler. */
    void visitorPipeline(ChannelPipeline p, boolean https) {
        p.addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast(VisitorHandler.CODEC, new HttpServerCodec(decoderConfig()))
                .addLast(pauseWatch())
                .addLast(new VisitorHandler(this, https));
    }

    /** Plain HTTP beside HTTPS: every request is redirected. */
    private void redirectPipeline(ChannelPipeline p) {
        // One request, one redirect, closed: the whole connection gets what a first request gets
        // elsewhere, or a trickled head would hold it (and its buffers) for good.
        VisitorHandler.closeAfterFirstRequestDeadline(p.channel());
        p.addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS))
                .addLast(new HttpServerCodec(decoderConfig()))
                .addLast(new HttpsRedirect(options.domain(), httpsAddress().getPort()));
    }

    /** After the TLS handshake: HTTP/2 if the browser offered it (ALPN), else HTTP/1.1. */
    private final class Alpn extends ApplicationProtocolNegotiationHandler {
        Alpn() {
            super(ApplicationProtocolNames.HTTP_1_1);
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                Http2Visitors.configure(ctx.pipeline(), PublicGateway.this);
            } else {
                visitorPipeline(ctx.pipeline(), true);
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            log.debug(
                    "visitor {}: TLS handshake failed: {}",
                    ctx.channel().remoteAddress(),
                    cause.toString());
            ctx.close();
        }
    }

    /**
     * Reads the certificate and key again (SIGHUP): new connections get them; on failure the old
     * ones stay and the reason is logged.
     */
    public void reloadTls() {
        if (tls == null) return;
        try {
            tls.reload();
            log.info("gateway: reloaded the TLS certificate and key ({})", tls.describe());
        } catch (SSLException e) {
            log.warn("gateway: kept the old TLS certificate: {}", e.getMessage());
        }
    }

    private volatile ServerStats stats = new ServerStats();
    private volatile HeldBytesBudget heldBytes = HeldBytesBudget.ofDirectMemory(stats.heldBytes);
    private volatile boolean heldBytesShared;

    /** The pipeline name of a visitor's {@link HeldBytesHandler} (after TLS, before HTTP). */
    static final String HELD = "held";

    /** Counts refused visitors into {@code stats} (the process's, for the metrics listener). */
    public void countInto(ServerStats stats) {
        this.stats = stats;
        if (!heldBytesShared) heldBytes = HeldBytesBudget.ofDirectMemory(stats.heldBytes);
    }

    /**
     * Counts what is queued for visitors in {@code budget}, the embedded relay's, so that the
     * process has one budget for slow readers (without it the gateway keeps one of its own).
     */
    public void shareHeldBytes(HeldBytesBudget budget) {
        this.heldBytes = budget;
        this.heldBytesShared = true;
    }

    HeldBytesBudget heldBytes() {
        return heldBytes;
    }

    private HeldBytesHandler heldBytesHandler() {
        return HeldBytesHandler.single(heldBytes, this::evicted);
    }

    /** A visitor reset for memory ({@link HeldBytesBudget}): logged like a refusal. */
    private void evicted(
            SocketAddress reader, long stallNanos, long queued, boolean pastCeiling, long limit) {
        stats.refused("gateway", "memory");
        rejections.refused(
                HeldBytesBudget.resetReason(
                        "its connection", stallNanos, queued, pastCeiling, limit),
                reader);
    }

    /**
     * Visitors whose share's answers wait in a tunnel because they do not read them, bounded for
     * the gateway ({@link PausedStreams}).
     */
    private volatile PausedStreams paused = new PausedStreams(this::pausedReset);

    /** Limits of its own for the paused visitors (tests), before any visitor comes. */
    void pausedStreams(int budget, int ceiling, long minStallNanos, long ceilingMinStallNanos) {
        paused =
                new PausedStreams(
                        budget,
                        ceiling,
                        minStallNanos,
                        ceilingMinStallNanos,
                        System::nanoTime,
                        this::pausedReset);
    }

    /** The step before each {@link VisitorHandler} that reports its visitor not reading. */
    PauseWatch pauseWatch() {
        return paused.watch();
    }

    PausedStreams pausedStreams() {
        return paused;
    }

    /** Visitors (HTTP/2 streams one each) whose answers wait in a tunnel now: a gauge. */
    public int pausedVisitors() {
        return paused.paused();
    }

    /** A visitor reset for not reading ({@link PausedStreams}): logged like a refusal. */
    private void pausedReset(
            SocketAddress reader,
            long pausedNanos,
            int pausedStreams,
            boolean pastCeiling,
            int limit) {
        stats.refused("gateway", "memory");
        rejections.refused(
                "its connection: "
                        + PausedStreams.resetReason(pausedNanos, pausedStreams, pastCeiling, limit),
                reader);
    }

    /**
     * Counts a visitor's tunnel stream against its address's budget and everyone's: null if
     * admitted ({@link #streamEnded} once it ends), else why not (logged and counted here).
     */
    @Override
    public String admitStream(InetAddress from) {
        if (from == null) return null; // not an IP connection (tests)
        String refused = streams.admit(from);
        if (refused == null) return null;
        stats.refused(
                "gateway",
                ConnectionBudget.everyones(refused) ? "streams_total" : "streams_per_address");
        rejections.refused("too many streams: " + refused, from.getHostAddress());
        return refused;
    }

    @Override
    public void streamEnded(InetAddress from) {
        if (from != null) streams.release(from);
    }

    /** Visitor connections open now (admitted and not yet closed). */
    public int openVisitors() {
        return visitors.open();
    }

    /** Counts a visitor connection against its address's budget until it closes. */
    private boolean admit(SocketChannel ch) {
        String refused = visitors.admitUntilClosed(ch);
        if (refused == null) return true;
        stats.refused("gateway", ConnectionBudget.reason(refused));
        rejections.refused(refused, ch.remoteAddress().getAddress().getHostAddress());
        ch.close();
        return false;
    }

    /** The plain-HTTP listener's address (its real port when bound to 0), or null. */
    public InetSocketAddress httpAddress() {
        return httpListener == null ? null : (InetSocketAddress) httpListener.localAddress();
    }

    /** The HTTPS listener's address, or null. */
    public InetSocketAddress httpsAddress() {
        return httpsListener == null ? null : (InetSocketAddress) httpsListener.localAddress();
    }

    /**
     * What shares are told: the URL (HTTPS when it listens), the domain and port, and the gateway's
     * key.
     */
    public PublicUrls urls() {
        return httpsListener != null
                ? new PublicUrls(
                        identity.fingerprint(), "https", options.domain(), httpsAddress().getPort())
                : new PublicUrls(
                        identity.fingerprint(), "http", options.domain(), httpAddress().getPort());
    }

    /**
     * Starts serving: labels are looked up in {@code server}'s registry and shares asked for
     * tunnels through it; {@code relayOf} says where the gateway dials the relay an invitation
     * names.
     */
    public void attach(RendezvousServer server, Function<String, InetSocketAddress> relayOf) {
        // In this order: a visitor that sees the tunnels (attached) also sees the registry.
        this.server = server;
        this.tunnels = new GatewayTunnels(group, identity, server, relayOf);
        log.info(
                "public gateway on {}{}",
                urls().url("*"),
                httpsListener != null && httpListener != null
                        ? " (plain HTTP on port " + httpAddress().getPort() + " redirects)"
                        : "");
    }

    @Override
    public String domain() {
        return options.domain();
    }

    @Override
    public ShareRegistry.Share publicShare(String label) {
        RendezvousServer s = server;
        return s == null ? null : s.registry().publicShare(label);
    }

    @Override
    public boolean wasPublic(String label) {
        RendezvousServer s = server;
        return s != null && s.registry().wasPublic(label);
    }

    @Override
    public boolean attached() {
        return tunnels != null;
    }

    @Override
    public GatewayTunnels tunnels() {
        return tunnels;
    }

    @Override
    public void close() {
        for (Channel l : new Channel[] {httpListener, httpsListener})
            if (l != null) l.close().syncUninterruptibly();
        GatewayTunnels t = tunnels;
        if (t != null) t.close();
    }
}
