package dev.appshare.relay;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;

/**
 * The fallback relay: when two peers cannot reach each other directly, each dials the relay with
 * the same one-time token and the relay splices the two TCP connections. It never parses a byte
 * after the pairing line, and what crosses it is QUIC ciphertext, so it learns nothing but sizes
 * and timing. See {@link RelayProtocol} for the wire format.
 */
public final class RelayServer implements AutoCloseable {
    /** Waiting and spent tokens together; past it a newcomer gets "ERR busy". ~150 bytes each. */
    public static final int MAX_PAIRING_ENTRIES = 100_000;

    private final RelayToken tokens;
    private final PairingTable table;
    private final long handshakeTimeoutMillis;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private Channel server;

    public RelayServer(RelayToken tokens, long handshakeTimeoutMillis) {
        this.tokens = tokens;
        this.table = new PairingTable(MAX_PAIRING_ENTRIES, Clock.systemUTC());
        this.handshakeTimeoutMillis = handshakeTimeoutMillis;
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
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        children.add(ch);
                                        initPairing(ch);
                                    }
                                });
        server = b.bind(HostPort.resolved(listen)).sync().channel();
        return this;
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

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        children.close().awaitUninterruptibly();
    }
}
