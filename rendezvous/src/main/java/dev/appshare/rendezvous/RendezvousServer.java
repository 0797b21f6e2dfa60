package dev.appshare.rendezvous;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The rendezvous: shares register here, proving a key, and get a name; connectors ask for a name
 * and both sides get a session id and a one-time relay token. It passes the peers' PAKE and ICE
 * messages on, learns neither the code's password nor keys they trust, and holds no tunnelled
 * bytes. See {@link RendezvousProtocol}. The UDP port of the same number answers STUN Binding
 * requests ({@link StunResponder}), so peers learn their server-reflexive address.
 */
public final class RendezvousServer implements AutoCloseable {
    /** Settings; the timeouts are fields so tests can shorten them. */
    public static final class Config {
        public InetSocketAddress listen = InetSocketAddress.createUnresolved("0.0.0.0", 7000);

        /**
         * The second STUN port (UDP, same host), for NAT behaviour discovery ({@link
         * StunResponder}): {@link #STUN_ALT_NEXT} for the rendezvous port's next (any free port
         * when that is 0), 0 for any free port.
         */
        public int stunAltPort = STUN_ALT_NEXT;

        /** The relay address handed to peers: must be reachable by them. */
        public String relayAdvertised = "127.0.0.1:7001";

        public long handshakeTimeoutMillis = 10_000;
        public long idleTimeoutMillis = RendezvousProtocol.IDLE_MILLIS;
        public long tokenLifetimeMillis = 60_000;
        public int maxSessionsPerShare = 1024;

        /** What each source address, and all clients together, may hold and do. */
        public ClientLimits limits = ClientLimits.defaults();

        /** The budgets' and the name reservations' clock; tests pass their own. */
        public LongSupplier nanoTime = System::nanoTime;

        /**
         * Names reserved at once, at most ({@link ShareRegistry#MAX_RESERVATIONS}); tests shrink
         * it.
         */
        public int maxReservations = ShareRegistry.MAX_RESERVATIONS;

        /** The HTTP gateway's URLs and key, for shares that ask to be public; null: no gateway. */
        public PublicUrls publicUrls;

        /** Where the server counts for the metrics listener (the process's). */
        public ServerStats stats = new ServerStats();
    }

    /** {@link Config#stunAltPort}: the port after the rendezvous's. */
    public static final int STUN_ALT_NEXT = -1;

    /**
     * A gateway tunnel asked of a public share: the share was sent {@code INCOMING gateway=1} with
     * this session id and relay token; the gateway dials {@code relay} with the token.
     */
    public record GatewayInvite(
            ShareRegistry.Share share, String session, String token, String relay) {}

    /**
     * Write-buffer watermarks of each control connection: what the server holds for a peer beyond
     * what the kernel's socket buffer took. A peer that reads never comes near them (control
     * messages are small and rare); one with {@value #QUEUE_HIGH} bytes waiting for {@link
     * #NOT_READING_MILLIS} is not reading, and the next message for it closes it instead of
     * queueing (see {@code RendezvousHandler.send}). 64 KiB is eight frames of the largest size
     * ({@link RendezvousFrames#MAX_FRAME}), or about ten thousand PONGs.
     */
    public static final int QUEUE_LOW = 32 * 1024, QUEUE_HIGH = 64 * 1024;

    /**
     * How long a control connection's queue stays over {@link #QUEUE_HIGH} before the server takes
     * it for one that does not read. Not at once: strangers can fill a share's queue for a moment
     * (each session's SIGNALs are counted against it as soon as they are handed to its event loop,
     * before they reach its socket), and a PONG or INCOMING that found it full then closed the
     * share: anyone who knew its name could keep it off the rendezvous. What waits meanwhile is
     * bounded by the budgets of whoever causes it (PINGs, CONNECTs, the session's SIGNALs).
     */
    public static final long NOT_READING_MILLIS = 10_000;

    private final Config config;
    private final AtomicLong peakQueued = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final RelayToken tokens;
    private final ShareRegistry registry;
    private final ClientBudgets budgets;
    private final RejectionLog fastSignallers, nonReaders;
    private static final org.slf4j.Logger CLOSURES =
            org.slf4j.LoggerFactory.getLogger(RendezvousHandler.class);
    private final SecureRandom random; // registration challenges
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel server;
    private Channel stun;
    private Channel stunAlt;

    public RendezvousServer(Config config, RelayToken tokens) {
        this(config, tokens, new SecureRandom(), new SecureRandom());
    }

    /**
     * With the randomness of the registration challenges and of the session ids given: a fuzz test
     * makes both predictable, so that its generated PROVEs and SIGNALs can be valid.
     */
    RendezvousServer(
            Config config, RelayToken tokens, SecureRandom challenges, RandomGenerator sessionIds) {
        this.config = config;
        this.tokens = tokens;
        this.random = challenges;
        this.budgets = new ClientBudgets(config);
        fastSignallers =
                new RejectionLog(CLOSURES, ClientBudgets.LOG_INTERVAL_NANOS, config.nanoTime);
        nonReaders = new RejectionLog(CLOSURES, ClientBudgets.LOG_INTERVAL_NANOS, config.nanoTime);
        this.registry =
                new ShareRegistry(
                        config.maxSessionsPerShare,
                        new NameAllocator(),
                        sessionIds,
                        config.nanoTime,
                        budgets::share,
                        budgets::shareLeft,
                        config.maxReservations);
    }

    /**
     * Binds TCP, then UDP (STUN) on the same host and the port TCP got, so a listen port of 0
     * works.
     *
     * @throws IllegalStateException if the UDP port cannot be bound (TCP is closed again)
     */
    public RendezvousServer start(EventLoopGroup group) throws InterruptedException {
        StunResponder.warmUp();
        ServerBootstrap b =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .option(ChannelOption.SO_BACKLOG, 1024)
                        .option(
                                ChannelOption.SO_REUSEADDR,
                                true) // a restarted server gets its port back at once
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .childOption(
                                ChannelOption.WRITE_BUFFER_WATER_MARK,
                                new WriteBufferWaterMark(QUEUE_LOW, QUEUE_HIGH))
                        .childOption(
                                ChannelOption.MESSAGE_SIZE_ESTIMATOR, ControlMessageSizes.INSTANCE)
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        InetAddress from = ch.remoteAddress().getAddress();
                                        boolean admitted = budgets.admitConnection(from);
                                        accepted.incrementAndGet(); // after the decision
                                        if (!admitted) {
                                            ch.close(); // over budget: no handler, no ERROR
                                            return;
                                        }
                                        ch.closeFuture()
                                                .addListener(f -> budgets.connectionClosed(from));
                                        children.add(ch);
                                        ch.pipeline()
                                                .addLast(
                                                        "idle",
                                                        new IdleStateHandler(
                                                                config.idleTimeoutMillis,
                                                                0,
                                                                0,
                                                                TimeUnit.MILLISECONDS));
                                        RendezvousFrames.install(ch.pipeline());
                                        ch.pipeline()
                                                .addLast(
                                                        "control",
                                                        new RendezvousHandler(
                                                                RendezvousServer.this, from));
                                    }
                                });
        server = b.bind(HostPort.resolved(config.listen)).sync().channel();
        InetSocketAddress udp =
                localAddress(); // the same host, and the port TCP got (listen port 0 works)
        int altPort =
                config.stunAltPort != STUN_ALT_NEXT
                        ? config.stunAltPort
                        : udp.getPort() == 0 || udp.getPort() == 65535 ? 0 : udp.getPort() + 1;
        InetSocketAddress alt = new InetSocketAddress(udp.getAddress(), altPort);
        StunResponder primary = new StunResponder(config.stats);
        StunResponder second = new StunResponder(config.stats);
        try {
            stun = bindStun(group, udp, primary, "STUN");
            stunAlt = bindStun(group, alt, second, "second STUN port");
        } catch (IllegalStateException e) {
            close();
            throw e;
        }
        primary.pairWith(stunAlt);
        second.pairWith(stun);
        return this;
    }

    /** Binds one STUN port, or says in words which could not be bound and why. */
    private static Channel bindStun(
            EventLoopGroup group, InetSocketAddress udp, StunResponder responder, String what)
            throws InterruptedException {
        ChannelFuture bound =
                new Bootstrap()
                        .group(group)
                        .channel(EventLoops.datagram())
                        .option(
                                ChannelOption.SO_REUSEADDR,
                                true) // as for TCP: a restarted server gets its port back
                        .handler(responder)
                        .bind(udp)
                        .await();
        if (bound.isSuccess()) return bound.channel();
        Throwable why = bound.cause();
        // NIO fails with a BindException, epoll with its own native error: both say "in use"
        boolean taken = String.valueOf(why.getMessage()).contains("in use");
        // Worded without "in use": the CLI turns that into "the port is already in use" (read:
        // TCP).
        throw new IllegalStateException(
                taken
                        ? "udp " + HostPort.format(udp) + " (" + what + ") is already taken"
                        : "cannot bind udp "
                                + HostPort.format(udp)
                                + " ("
                                + what
                                + "): "
                                + why.getMessage(),
                why);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    /**
     * Where STUN Binding requests are answered: UDP, the same host and port number as {@link
     * #localAddress()}.
     */
    public InetSocketAddress stunAddress() {
        return (InetSocketAddress) stun.localAddress();
    }

    /** The second STUN port (see {@link Config#stunAltPort}): UDP, the same host. */
    public InetSocketAddress stunAltAddress() {
        return (InetSocketAddress) stunAlt.localAddress();
    }

    /** The second STUN port's number as a field value; "0" when not bound (a test's server). */
    String stunAltPortText() {
        return stunAlt == null ? "0" : String.valueOf(stunAltAddress().getPort());
    }

    Config config() {
        return config;
    }

    /**
     * Connections closed for signalling faster than their partner reads, or for not reading: one
     * line per {@link ClientBudgets#LOG_INTERVAL_NANOS} each, with a count, as strangers can cause
     * them at will (a line each filled the log at about 10 a second per address).
     */
    RejectionLog closedFastSignallers() {
        return fastSignallers;
    }

    RejectionLog closedNonReaders() {
        return nonReaders;
    }

    ClientBudgets budgets() {
        return budgets;
    }

    /** Control connections open now (admitted and not yet closed). */
    int testOnlyOpenConnections() {
        return budgets.openConnections();
    }

    RelayToken tokens() {
        return tokens;
    }

    /** Notes how many bytes wait in a control connection's write buffer after a write to it. */
    void noteQueued(Channel ch) {
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        if (out != null) peakQueued.accumulateAndGet(out.totalPendingWriteBytes(), Math::max);
    }

    /** The most bytes seen waiting for any one control connection after a write to it. */
    long testOnlyPeakQueuedBytes() {
        return peakQueued.get();
    }

    /** How many control connections this server has accepted since it started. */
    public long testOnlyAcceptedConnections() {
        return accepted.get();
    }

    SecureRandom random() {
        return random;
    }

    /**
     * Asks the live public share whose label is {@code label} for a tunnel to the gateway in this
     * process: {@code INCOMING session=ID from=127.0.0.1 token=T relay=R gateway=1}. The session is
     * not a registry session (no connector connection holds it): the share's END and SIGNALs for it
     * are dropped as for an unknown session, and the tunnel, as any, outlives the control
     * connection. Null if there is no such share or it does not read its control connection.
     */
    public GatewayInvite inviteGateway(String label) {
        ShareRegistry.Share s = registry.publicShare(label);
        if (s == null || !s.channel().isActive() || !s.channel().isWritable()) return null;
        String session = registry.unusedSessionId();
        String token = tokens.mint(config.tokenLifetimeMillis);
        s.channel()
                .writeAndFlush(
                        RendezvousMessage.of(
                                RendezvousProtocol.INCOMING,
                                "session",
                                session,
                                "from",
                                "127.0.0.1",
                                "token",
                                token,
                                "relay",
                                config.relayAdvertised,
                                "gateway",
                                "1"));
        noteQueued(s.channel());
        return new GatewayInvite(s, session, token, config.relayAdvertised);
    }

    public ShareRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        if (stun != null) stun.close().syncUninterruptibly();
        if (stunAlt != null) stunAlt.close().syncUninterruptibly();
        children.close().awaitUninterruptibly();
    }
}
