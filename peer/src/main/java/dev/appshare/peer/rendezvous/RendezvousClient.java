package dev.appshare.peer.rendezvous;

import dev.appshare.peer.PeerException;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A peer's control connection to the rendezvous. It keeps the connection alive with heartbeats and,
 * once it has been up, reconnects with back-off whenever it drops, unless the owner has no use for
 * a connection then (it waits for {@link #reconnect()} instead). A connection counts as up only
 * once the server sent a valid message: a server that accepts TCP and then closes or answers
 * something else (an HTTP or ssh port) is a failed attempt like a refused connect. Before the first
 * success it gives up after {@link #FIRST_CONNECT_ATTEMPTS} attempts, so a wrong --server fails
 * within seconds. All callbacks run on one event loop; the server's name is looked up before each
 * attempt, off the loop.
 */
public final class RendezvousClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RendezvousClient.class);
    public static final int FIRST_CONNECT_ATTEMPTS = 6;
    public static final long MAX_BACKOFF_MILLIS = 10_000;

    /**
     * A connection that drops sooner than this after it was made counts as a failed attempt for the
     * back-off, so a server that answers and then closes at once is not hammered 4 times a second.
     * Longer than the server's 10 s wait for a first REGISTER or CONNECT.
     */
    public static final long SHORT_LIVED_MILLIS = 30_000;

    /** What the owner does with the connection. */
    public interface Handler {
        /** Connected (again): send REGISTER or CONNECT. */
        void connected(RendezvousClient client);

        void message(RendezvousMessage m);

        /**
         * The connection dropped.
         *
         * @return true to reconnect now (after the back-off); false to stay disconnected until
         *     {@link RendezvousClient#reconnect()}
         */
        boolean disconnected();

        /** Never connected: the server could not be reached at all. */
        void unreachable(String why);
    }

    private final EventLoop loop;
    private final InetSocketAddress server;
    private final Handler handler;
    private final Resolver resolver;
    private volatile Channel channel; // read by ICE threads sending SIGNALs
    private boolean answered; // the current connection carried a valid message
    private long connectedNanos;
    private String notAppshare; // why the current connection is not a rendezvous, if it is not
    private boolean everConnected;
    private boolean closed;
    private boolean dormant; // dropped, and the owner did not want a new connection yet
    private int failures;

    public RendezvousClient(
            EventLoop loop, InetSocketAddress server, Handler handler, Resolver resolver) {
        this.loop = loop;
        this.server = server;
        this.handler = handler;
        this.resolver = resolver;
    }

    public EventLoop loop() {
        return loop;
    }

    public String serverText() {
        return HostPort.format(server);
    }

    /** The one-line error share and connect both give when the rendezvous cannot be reached. */
    public PeerException unreachableError(String why) {
        return new PeerException(
                1,
                "cannot reach the rendezvous at "
                        + serverText()
                        + " ("
                        + why
                        + "); is `appshare server` running there? Set --server or"
                        + " APPSHARE_SERVER");
    }

    public void start() {
        loop.execute(this::attempt);
    }

    private void attempt() {
        if (closed) return;
        resolver.resolve(server, loop)
                .addListener(
                        r -> {
                            if (closed) return;
                            if (r.isSuccess()) connect((InetSocketAddress) r.getNow());
                            else onFailed(r.cause());
                        });
    }

    private void connect(InetSocketAddress address) {
        new Bootstrap()
                .group(loop)
                .channel(EventLoops.socket())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .handler(
                        new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline()
                                        .addLast(
                                                new IdleStateHandler(
                                                        RendezvousProtocol.IDLE_MILLIS,
                                                        RendezvousProtocol.HEARTBEAT_MILLIS,
                                                        0,
                                                        TimeUnit.MILLISECONDS));
                                RendezvousFrames.install(ch.pipeline());
                                ch.pipeline().addLast(new Inbound());
                            }
                        })
                .connect(address)
                .addListener(
                        (ChannelFutureListener)
                                f -> {
                                    if (f.isSuccess()) {
                                        onUp(f.channel());
                                    } else {
                                        onFailed(f.cause());
                                    }
                                });
    }

    private void onUp(Channel ch) {
        if (closed) {
            ch.close();
            return;
        }
        channel = ch;
        answered = false;
        notAppshare = null;
        connectedNanos = System.nanoTime();
        ch.closeFuture().addListener(f -> loop.execute(() -> onDown(ch)));
        handler.connected(this);
    }

    private void onFailed(Throwable cause) {
        onFailed(cause.getMessage() != null ? cause.getMessage() : cause.toString());
    }

    private void onFailed(String why) {
        if (closed) return;
        failures++;
        if (!everConnected && failures >= FIRST_CONNECT_ATTEMPTS) {
            handler.unreachable(why);
            return;
        }
        long delay = backoffMillis();
        log.debug("rendezvous {} unreachable ({}); retrying in {} ms", serverText(), why, delay);
        loop.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
    }

    private void onDown(Channel ch) {
        if (channel != ch) return;
        channel = null;
        if (closed) return;
        if (!answered) {
            onFailed(
                    notAppshare != null
                            ? notAppshare
                            : "the server closed the connection without an answer: it does not"
                                    + " speak appshare's protocol");
            return;
        }
        boolean shortLived =
                System.nanoTime() - connectedNanos
                        < TimeUnit.MILLISECONDS.toNanos(SHORT_LIVED_MILLIS);
        failures = shortLived ? failures + 1 : 0;
        if (!handler.disconnected()) {
            dormant = true;
            return;
        }
        loop.schedule(this::attempt, backoffMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Connects again after a drop the owner chose not to reconnect from; does nothing while a
     * connection is up or being made.
     */
    public void reconnect() {
        loop.execute(
                () -> {
                    if (!dormant || closed) return;
                    dormant = false;
                    attempt();
                });
    }

    /** 250 ms after a long-lived connection, then doubling per failure, at most 10 s. */
    private long backoffMillis() {
        return Math.min(MAX_BACKOFF_MILLIS, 250L << Math.min(failures, 6));
    }

    /** The first valid message: this is a rendezvous; from now on it is never given up. */
    private void onAnswer() {
        answered = true;
        everConnected = true;
    }

    /**
     * What may wait for a server that does not read before the connection is given up (and made
     * again): a malicious rendezvous that sends messages each answered (INCOMINGs a share refuses
     * with END) and reads nothing would otherwise have us queue until the heap ran out.
     */
    public static final long MAX_UNREAD_BYTES = 1 << 20;

    public void send(RendezvousMessage m) {
        Channel ch = channel;
        if (ch == null) return;
        if (!ch.isWritable() && ch.bytesBeforeWritable() > MAX_UNREAD_BYTES) {
            log.debug("rendezvous {} reads nothing of what we send: reconnecting", serverText());
            ch.close();
            return;
        }
        ch.writeAndFlush(m);
    }

    /** A SIGNAL for the peer at the other end of a session: {@code session=ID} then the fields. */
    public void sendSignal(String session, String... keyValues) {
        String[] fields = new String[keyValues.length + 2];
        fields[0] = "session";
        fields[1] = session;
        System.arraycopy(keyValues, 0, fields, 2, keyValues.length);
        send(RendezvousMessage.of(RendezvousProtocol.SIGNAL, fields));
    }

    /** Bytes queued for the server and not yet taken by the socket (tests); on the loop. */
    long queuedBytes() {
        Channel ch = channel;
        if (ch == null || ch.unsafe().outboundBuffer() == null) return 0;
        return ch.unsafe().outboundBuffer().totalPendingWriteBytes();
    }

    public boolean isConnected() {
        Channel ch = channel;
        return ch != null && ch.isActive();
    }

    @Override
    public void close() {
        loop.execute(
                () -> {
                    closed = true;
                    if (channel != null) channel.close();
                });
    }

    private final class Inbound extends SimpleChannelInboundHandler<RendezvousMessage> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, RendezvousMessage m) {
            if (ctx.channel() == channel) onAnswer();
            if (RendezvousProtocol.PONG.equals(m.type())) return;
            if (RendezvousProtocol.PING.equals(m.type())) {
                // Not while our answers wait unread: a rendezvous that sends PINGs and reads
                // nothing made us queue PONGs until the heap ran out (10 MB of PINGs, 9 s).
                if (ctx.channel().isWritable())
                    ctx.writeAndFlush(RendezvousMessage.of(RendezvousProtocol.PONG));
                return;
            }
            handler.message(m);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent e) {
                if (e.state() == IdleState.WRITER_IDLE) {
                    ctx.writeAndFlush(RendezvousMessage.of(RendezvousProtocol.PING));
                } else {
                    log.debug(
                            "rendezvous {} silent for {} ms: reconnecting",
                            serverText(),
                            RendezvousProtocol.IDLE_MILLIS);
                    ctx.close();
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("control connection failed: {}", cause.toString());
            if (ctx.channel() == channel && !answered && cause instanceof DecoderException) {
                notAppshare =
                        "the server does not speak appshare's protocol: "
                                + NetworkText.printable(cause.getMessage());
            }
            ctx.close();
        }
    }
}
