package dev.appshare.relay;

import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HeldBytesBudget;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fallback relay: when two peers cannot reach each other directly, each dials the relay with
 * the same one-time token and the relay splices the two TCP connections. It never parses a byte
 * after the pairing line, and what crosses it is QUIC ciphertext, so it learns nothing but sizes
 * and timing. See {@link RelayProtocol} for the wire format.
 */
public final class RelayServer implements AutoCloseable {
    /** Waiting and spent tokens together; past it a newcomer gets "ERR busy". ~150 bytes each. */
    public static final int MAX_PAIRING_ENTRIES = 100_000;

    /**
     * Connections one source address (IPv4 /32, IPv6 /64) may hold open at once, waiting and
     * spliced together. A peer holds one per tunnel on the relay, so this leaves room for a busy
     * share or many peers behind one NAT, while one host cannot take more than a sliver of the
     * global cap. Past it a newcomer gets "ERR busy" and is closed at once.
     */
    public static final int MAX_CONNECTIONS_PER_ADDRESS = 128;

    /** The global cap never goes past this, however high RLIMIT_NOFILE is (~100 MB of buffers). */
    public static final int MAX_CONNECTIONS = 100_000;

    /**
     * The most one read from a spliced connection takes. netty's adaptive guess starts at 2 KiB,
     * reaches this after any burst of about 34 KiB and falls back over a dozen small reads. With
     * netty's default 64 KiB the relay's splice cost 0.69 s of CPU per GB and reached 0.84-0.94x
     * socat -b 65536; with 256 KiB, 0.51 s per GB and 1.06-1.41x (docs/benchmarks.md, fifth round):
     * each send carries four loopback segments and wakes the far end once. Queued buffers count by
     * their capacity ({@link BufferMemoryEstimator}), so what one direction holds for a reader that
     * does not read stays at most the write high-water mark (64 KiB) plus one read.
     */
    public static final int MAX_READ = 256 << 10;

    private static final Logger log = LoggerFactory.getLogger(RelayServer.class);

    private final RelayToken tokens;
    private final PairingTable table;
    private final long handshakeTimeoutMillis;
    private final ConnectionBudget connections;
    private final RejectionLog rejections =
            new RejectionLog(log, RejectionLog.INTERVAL_NANOS, System::nanoTime);
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel server;
    private ServerStats stats = new ServerStats();
    private HeldBytesBudget heldBytes = HeldBytesBudget.ofDirectMemory(stats.heldBytes);

    public RelayServer(RelayToken tokens, long handshakeTimeoutMillis) {
        this(
                tokens,
                handshakeTimeoutMillis,
                new ConnectionBudget(
                        MAX_CONNECTIONS_PER_ADDRESS,
                        ConnectionBudget.fromDescriptors(2, MAX_CONNECTIONS)));
    }

    /** With its own connection budgets (tests use small ones). */
    RelayServer(RelayToken tokens, long handshakeTimeoutMillis, ConnectionBudget connections) {
        this.tokens = tokens;
        this.table = new PairingTable(MAX_PAIRING_ENTRIES, Clock.systemUTC());
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
        this.connections = connections;
    }

    /** Counts into {@code stats} (the process's, for the metrics listener); call before start. */
    public RelayServer withStats(ServerStats stats) {
        this.stats = stats;
        this.heldBytes = HeldBytesBudget.ofDirectMemory(stats.heldBytes);
        return this;
    }

    ServerStats stats() {
        return stats;
    }

    /**
     * Limits for queued bytes other than those from the direct memory (tests); call before start,
     * after {@link #withStats}.
     */
    RelayServer withHeldBytesBudget(long budget, long ceiling, long minStallNanos) {
        this.heldBytes =
                new HeldBytesBudget(
                        budget, ceiling, minStallNanos, System::nanoTime, stats.heldBytes);
        return this;
    }

    /**
     * The process's budget for bytes queued for slow readers (the gateway in the same process
     * shares it).
     */
    public HeldBytesBudget heldBytes() {
        return heldBytes;
    }

    public RelayServer start(EventLoopGroup group, InetSocketAddress listen)
            throws InterruptedException {
        ServerBootstrap b =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .option(ChannelOption.SO_BACKLOG, 1024)
                        .option(
                                ChannelOption.SO_REUSEADDR,
                                true) // a restarted server gets its port back at once
                        .childOption(ChannelOption.AUTO_READ, false)
                        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .childOption(
                                ChannelOption.RCVBUF_ALLOCATOR,
                                new AdaptiveRecvByteBufAllocator(64, 2048, MAX_READ))
                        .childOption(
                                ChannelOption.MESSAGE_SIZE_ESTIMATOR,
                                BufferMemoryEstimator.INSTANCE)
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        if (!admit(ch)) return;
                                        children.add(ch);
                                        initPairing(ch);
                                    }
                                });
        server = b.bind(HostPort.resolved(listen)).sync().channel();
        log.debug(
                "relay budgets: {} connections per address, {} in all, {} MiB queued for slow"
                        + " readers",
                connections.perAddress(),
                connections.global(),
                heldBytes.budget() >> 20);
        return this;
    }

    /**
     * Counts an accepted connection against its address's budget and the global cap until it
     * closes; past either, answers "ERR busy" without reading a byte and closes it (the refusal is
     * logged, rate-limited).
     */
    private boolean admit(SocketChannel ch) {
        String refused = connections.admitUntilClosed(ch);
        if (refused == null) return true;
        stats.refused("relay", ConnectionBudget.reason(refused));
        rejections.refused(refused, ch.remoteAddress().getAddress().getHostAddress());
        ch.writeAndFlush(
                        Unpooled.copiedBuffer(
                                RelayProtocol.ERR + RelayProtocol.BUSY + "\n",
                                StandardCharsets.US_ASCII))
                .addListener(ChannelFutureListener.CLOSE);
        return false;
    }

    /** A spliced pair reset for memory ({@link HeldBytesBudget}): logged like a refusal. */
    void evicted(
            SocketAddress reader, long stallNanos, long queued, boolean pastCeiling, long limit) {
        stats.refused("relay", "memory");
        rejections.refused(
                HeldBytesBudget.resetReason(
                        "its spliced pair", stallNanos, queued, pastCeiling, limit),
                reader);
    }

    /** The pairing stage of an accepted connection: the line decoder and the pairing handler. */
    void initPairing(Channel ch) {
        ch.pipeline()
                .addLast("line", new LineBasedFrameDecoder(RelayProtocol.MAX_LINE, true, true))
                .addLast("pairing", new PairingHandler(this));
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    RelayToken tokens() {
        return tokens;
    }

    PairingTable table() {
        return table;
    }

    long handshakeTimeoutMillis() {
        return handshakeTimeoutMillis;
    }

    long spliceIdleMillis() {
        return RelayProtocol.SPLICE_IDLE_MILLIS;
    }

    /** The accepted connections still open (tests look at their event loops). */
    ChannelGroup children() {
        return children;
    }

    ConnectionBudget connections() {
        return connections;
    }

    RejectionLog rejections() {
        return rejections;
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        children.close().awaitUninterruptibly();
    }
}
