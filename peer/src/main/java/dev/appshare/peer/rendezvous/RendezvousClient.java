package dev.appshare.peer.rendezvous;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
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
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A peer's control connection to the rendezvous. It keeps the connection alive with heartbeats and,
 * once it has been up, reconnects with back-off whenever it drops. Before the first success it
 * gives up after {@link #FIRST_CONNECT_ATTEMPTS} attempts, so a wrong --server fails within
 * seconds. All callbacks run on one event loop; the server's name is looked up before each attempt,
 * off the loop.
 */
public final class RendezvousClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RendezvousClient.class);
    public static final int FIRST_CONNECT_ATTEMPTS = 6;
    public static final long MAX_BACKOFF_MILLIS = 10_000;

    /** What the owner does with the connection. */
    public interface Handler {
        /** Connected (again): send REGISTER or CONNECT. */
        void connected(RendezvousClient client);

        void message(RendezvousMessage m);

        /** The connection dropped; a reconnect follows. */
        void disconnected();

        /** Never connected: the server could not be reached at all. */
        void unreachable(String why);
    }

    private final EventLoop loop;
    private final InetSocketAddress server;
    private final Handler handler;
    private final Resolver resolver;
    private volatile Channel channel; // read by ICE threads sending SIGNALs
    private boolean everConnected;
    private boolean closed;
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
        failures = 0;
        everConnected = true;
        ch.closeFuture().addListener(f -> loop.execute(() -> onDown(ch)));
        handler.connected(this);
    }

    private void onFailed(Throwable cause) {
        if (closed) return;
        failures++;
        String why = cause.getMessage() != null ? cause.getMessage() : cause.toString();
        if (!everConnected && failures >= FIRST_CONNECT_ATTEMPTS) {
            handler.unreachable(why);
            return;
        }
        long delay = Math.min(MAX_BACKOFF_MILLIS, 250L << Math.min(failures, 6));
        log.debug("rendezvous {} unreachable ({}); retrying in {} ms", serverText(), why, delay);
        loop.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
    }

    private void onDown(Channel ch) {
        if (channel != ch) return;
        channel = null;
        if (closed) return;
        handler.disconnected();
        loop.schedule(this::attempt, 250, TimeUnit.MILLISECONDS);
    }

    public void send(RendezvousMessage m) {
        Channel ch = channel;
        if (ch != null) ch.writeAndFlush(m);
    }

    /** A SIGNAL for the peer at the other end of a session: {@code session=ID} then the fields. */
    public void sendSignal(String session, String... keyValues) {
        String[] fields = new String[keyValues.length + 2];
        fields[0] = "session";
        fields[1] = session;
        System.arraycopy(keyValues, 0, fields, 2, keyValues.length);
        send(RendezvousMessage.of(RendezvousProtocol.SIGNAL, fields));
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
            if (RendezvousProtocol.PONG.equals(m.type())) return;
            if (RendezvousProtocol.PING.equals(m.type())) {
                ctx.writeAndFlush(RendezvousMessage.of(RendezvousProtocol.PONG));
                return;
            }
            handler.message(m);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent e) {
                if (e.state() == io.netty.handler.timeout.IdleState.WRITER_IDLE) {
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
            ctx.close();
        }
    }
}
