package dev.appshare.peer.path;

import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.path.PathProbe;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.SegmentedDatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The path layer: sits on the peer's UDP channel between the socket (after the STUN demux) and the
 * QUIC codec, and carries each datagram the codec sends on the best path. The codec always talks to
 * {@link VirtualAddresses#REMOTE}; datagrams from any path are handed to it as coming from there,
 * so QUIC never notices a path change and open streams carry on.
 *
 * <p>Paths: the relay (a spliced TCP connection carrying length-prefixed datagrams, see {@link
 * RelayPath}) and the direct path (the 5-tuple ICE validated, on this very socket, watched by
 * {@link DirectPath}; or one on another local socket of the same event loop, {@link
 * #directValidated(InetSocketAddress, InetSocketAddress, String, Runnable, Consumer, Channel)},
 * whose datagrams come in through {@link #otherSocketHandler}). The direct path is preferred
 * whenever it answers; while it is in doubt every datagram goes both ways; once it is dead, the
 * relay alone (if there is none, still the direct path: it is the only hope). All methods run on
 * the UDP channel's event loop; the relay channel lives on the same loop, so injecting its
 * datagrams costs no hop. Time is the loop's own ({@link #nanoTime()}), the clock its timers run
 * on, so a test's EmbeddedChannel with a mock ticker drives both.
 */
public final class PathSwitch extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(PathSwitch.class);
    private static final long TICK_MILLIS = 50;
    private static final long ACTIVE_NANOS = 1_000_000_000L;

    /** Told when the path carrying the tunnel changes, and when no path is left. */
    public interface Listener {
        void pathChanged(String description);

        void allPathsLost(String why);
    }

    private final Listener listener;
    private final boolean acceptDirect;
    private ChannelHandlerContext ctx;
    private Channel relay;
    private boolean relayEverAttached;
    private String relayDescription;
    private DirectPath direct;
    private Channel directVia; // the direct path's socket when it is not this one; owned here
    private ScheduledFuture<?> ticker;
    private String announced;
    private Runnable onDirectAlive;
    private Consumer<String> onDirectUnusable;
    private boolean relayGone;
    private boolean sentAny;
    private long lastSent;
    private long dropped;

    /** {@code acceptDirect} false: relay only, datagrams arriving on the UDP socket are ignored. */
    public PathSwitch(Listener listener, boolean acceptDirect) {
        this.listener = listener;
        this.acceptDirect = acceptDirect;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Makes a paired relay connection available (and the active path unless direct is alive). */
    public void attachRelay(Channel relayChannel, String description) {
        assert ctx.executor().inEventLoop();
        relay = relayChannel;
        relayEverAttached = true;
        relayDescription = description;
        relayChannel
                .closeFuture()
                .addListener(f -> ctx.executor().execute(() -> relayClosed(relayChannel)));
        announce();
    }

    /**
     * ICE validated this 5-tuple: probe it, and move to it once it answers. {@code onAlive} runs
     * the first time it does (the owner may be waiting to start QUIC over it).
     */
    public void directValidated(
            InetSocketAddress local,
            InetSocketAddress remote,
            String kinds,
            Runnable onAlive,
            Consumer<String> onUnusable) {
        directValidated(local, remote, kinds, onAlive, onUnusable, null);
    }

    /**
     * As {@link #directValidated(InetSocketAddress, InetSocketAddress, String, Runnable,
     * Consumer)}, the 5-tuple being on {@code via}, another UDP socket on this event loop (null:
     * this socket), with {@link #otherSocketHandler} in its pipeline: probes, answers and QUIC
     * leave from it, and only what it receives from {@code remote} speaks for the peer. This switch
     * owns {@code via} from here on and closes it when the direct path goes or the tunnel closes.
     */
    public void directValidated(
            InetSocketAddress local,
            InetSocketAddress remote,
            String kinds,
            Runnable onAlive,
            Consumer<String> onUnusable,
            Channel via) {
        assert ctx.executor().inEventLoop();
        if (!acceptDirect || !ctx.channel().isActive()) {
            if (via != null) via.close();
            return;
        }
        if (via != null && !via.eventLoop().inEventLoop())
            throw new IllegalArgumentException("the direct path's socket is on another event loop");
        if (directCarries()) {
            // One direct path is enough: a second (ICE's and a birthday search's) is let go.
            log.debug("direct path {} not taken: one already carries", HostPort.literal(remote));
            if (via != null) via.close();
            return;
        }
        dropDirect();
        direct = new DirectPath(local, remote, kinds, nanoTime());
        directVia = via;
        onDirectAlive = onAlive;
        onDirectUnusable = onUnusable;
        log.debug("direct path candidate {} ({}); probing", HostPort.literal(remote), kinds);
        ticker =
                ctx.executor()
                        .scheduleAtFixedRate(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Whether a direct path is being proven or carries the tunnel. */
    public boolean hasDirect() {
        return direct != null;
    }

    /** Whether a pair that was found is being proven (it has not answered its probes yet). */
    public boolean directProving() {
        return direct != null && direct.state() == DirectPath.State.PROVING;
    }

    /** Whether a direct path carries the tunnel now (it answers its probes). */
    public boolean directCarries() {
        return direct != null && direct.carries();
    }

    /** Forgets the direct path (its ticker, and its own socket if it had one). */
    private void dropDirect() {
        if (ticker != null) ticker.cancel(false);
        ticker = null;
        direct = null;
        if (directVia != null) directVia.close();
        directVia = null;
    }

    /** Sends one datagram on the direct path's socket. */
    private void sendDirect(DatagramPacket datagram) {
        if (directVia == null) ctx.writeAndFlush(datagram);
        else directVia.writeAndFlush(datagram);
    }

    /**
     * The handler for the pipeline of a direct path's own socket (see {@link
     * #directValidated(InetSocketAddress, InetSocketAddress, String, Runnable, Consumer,
     * Channel)}): what that socket receives is read as this one reads its own.
     */
    public ChannelHandler otherSocketHandler() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext c, Object msg) {
                if (msg instanceof DatagramPacket p) read(p, c.channel());
                else ReferenceCountUtil.release(msg);
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext c) {
                if (directVia == c.channel()) ctx.fireChannelReadComplete();
            }
        };
    }

    /** Where datagrams go now, for the Path: line. */
    private String current() {
        if (direct != null && direct.carries()) return direct.describe();
        if (relay != null) return "relay (via " + relayDescription + ")";
        return null;
    }

    private void announce() {
        String now = current();
        if (now == null) return;
        // Compare without the rtt, so a changing rtt alone is not a path change.
        String key = now.replaceAll(", rtt \\d+ ms", "");
        if (key.equals(announced)) return;
        announced = key;
        listener.pathChanged(now);
    }

    /** The event loop's clock: the one its scheduled tasks (our tick) run on. */
    private long nanoTime() {
        return ctx.executor().ticker().nanoTime();
    }

    private void tick() {
        DirectPath d = direct;
        if (d == null) return;
        long now = nanoTime();
        DirectPath.State before = d.state();
        long nonce = d.tick(now, sentAny && now - lastSent < ACTIVE_NANOS);
        if (nonce != 0) {
            sendDirect(
                    new DatagramPacket(
                            PathProbe.encode(ctx.alloc(), PathProbe.PROBE, nonce), d.remote()));
        }
        if (d.state() != before) stateChanged(d, before);
    }

    private void stateChanged(DirectPath d, DirectPath.State before) {
        switch (d.state()) {
            case ALIVE -> {
                if (before == DirectPath.State.DOUBT) {
                    log.debug("direct path answering again");
                } else {
                    log.debug(
                            "direct path to {} is up ({}, rtt {} ms)",
                            HostPort.literal(d.remote()),
                            d.kinds(),
                            d.rttMillis());
                }
                Runnable r = onDirectAlive;
                onDirectAlive = null;
                if (r != null) r.run();
            }
            case DOUBT -> log.debug("direct path silent; sending on both paths until it answers");
            case DEAD -> {
                log.info(
                        "direct path to {} stopped answering{}",
                        HostPort.literal(d.remote()),
                        relay != null ? "; moving to the relay" : "");
                if (relay == null && (relayEverAttached || relayGone)) {
                    listener.allPathsLost(
                            "the direct path stopped answering and the relay connection is closed");
                    return;
                }
            }
            case UNUSABLE -> {
                dropDirect();
                String why =
                        "the pair ICE validated did not answer "
                                + PathProbe.PROBE_LENGTH
                                + "-byte probes within "
                                + DirectPath.PROVING_LIMIT_MILLIS / 1000
                                + " s (full-size datagrams lost on the way, or the other peer's ICE"
                                + " did not finish)";
                if (onDirectUnusable != null) onDirectUnusable.accept(why);
                return;
            }
            default -> {}
        }
        announce();
    }

    /**
     * The relay could not be paired (with --transport auto): losing the direct path is losing all.
     */
    public void relayUnavailable() {
        relayGone = true;
        // The direct path may have died while the relay was still pairing: nothing is left, so
        // say so now rather than at QUIC's idle timeout. (A pair given up while proving never
        // carried the tunnel: PathCarrier fails its ready future with both reasons instead.)
        if (direct != null && direct.state() == DirectPath.State.DEAD) {
            listener.allPathsLost(
                    "the direct path stopped answering and the relay could not be paired");
        }
    }

    private void relayClosed(Channel ch) {
        if (relay != ch) return;
        relay = null;
        log.debug(
                "relay path via {} closed ({} datagrams dropped while it was full)",
                relayDescription,
                dropped);
        if (direct != null && direct.carries()) {
            log.info("the relay connection closed; carrying on over the direct path");
            return;
        }
        listener.allPathsLost("the relay connection closed");
    }

    /** A datagram the relay carried in: hand it to the codec as coming from the peer. */
    void fromRelay(ByteBuf datagram) {
        ctx.fireChannelRead(
                new DatagramPacket(datagram, VirtualAddresses.LOCAL, VirtualAddresses.REMOTE));
    }

    /** The relay's read burst ended: the codec flushes its ACKs and data here. */
    void relayReadComplete() {
        ctx.fireChannelReadComplete();
    }

    /** A datagram on the UDP socket (STUN has already been taken out): a probe, or QUIC. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket p)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        read(p, ctx.channel());
    }

    /** A datagram that arrived on {@code socket}: this one, or the direct path's own. */
    private void read(DatagramPacket p, Channel socket) {
        DirectPath d = direct;
        ByteBuf b = p.content();
        Channel expected = directVia != null ? directVia : ctx.channel();
        if (d == null || socket != expected || !b.isReadable() || !p.sender().equals(d.remote())) {
            p.release(); // only the validated 5-tuple speaks for the peer
            return;
        }
        if (PathProbe.isProbe(b)) {
            if (PathProbe.type(b) == PathProbe.PROBE) {
                sendDirect(
                        new DatagramPacket(
                                PathProbe.encode(ctx.alloc(), PathProbe.ANSWER, PathProbe.nonce(b)),
                                d.remote()));
            } else {
                DirectPath.State before = d.state();
                d.answered(PathProbe.nonce(b), nanoTime());
                if (d.state() != before) stateChanged(d, before);
            }
            p.release();
            return;
        }
        if ((b.getByte(b.readerIndex()) & 0x40) == 0) {
            p.release(); // not QUIC
            return;
        }
        ctx.fireChannelRead(new DatagramPacket(b, VirtualAddresses.LOCAL, VirtualAddresses.REMOTE));
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.write(msg, promise);
            return;
        }
        sentAny = true;
        lastSent = nanoTime();
        DirectPath d = direct;
        Channel r = relay;
        // Dead with no relay attached, the direct path is still the only hope: dropping here would
        // make QUIC's retransmission timer back off for the whole outage, so recovery would stall
        // for seconds after the path answers again.
        boolean viaDirect =
                d != null && (d.carries() || (r == null && d.state() == DirectPath.State.DEAD));
        boolean viaRelay = r != null && (!viaDirect || d.state() == DirectPath.State.DOUBT);
        ByteBuf content = packet.content();
        // With GSO the codec hands over several datagrams of one size in one buffer.
        int segment =
                packet instanceof SegmentedDatagramPacket s ? s.segmentSize() : Integer.MAX_VALUE;
        if (viaRelay) {
            if (r.isWritable()) {
                ChannelFuture written = writeToRelay(r, content, segment);
                // The codec's promise must not complete inside this call: when quiche's send
                // quantum
                // runs out, the codec resumes sending from that promise's listener, which it
                // ignores
                // while it is still sending. So it completes when the relay has written the
                // datagram,
                // as a socket's would.
                if (!viaDirect) written.addListener(f -> promise.trySuccess());
            } else {
                // Like a full UDP socket buffer: drop, and let QUIC's loss recovery resend. Queuing
                // here
                // instead would hide congestion from QUIC and grow without bound.
                dropped++;
                if (!viaDirect) ctx.executor().execute(promise::trySuccess);
            }
        }
        if (viaDirect) {
            DatagramPacket out =
                    segment == Integer.MAX_VALUE
                            ? new DatagramPacket(content.retain(), d.remote())
                            : new io.netty.channel.epoll.SegmentedDatagramPacket(
                                    content.retain(), segment, d.remote());
            Channel via = directVia;
            if (via == null) {
                ctx.write(out, promise);
            } else {
                // A promise belongs to its channel: the other socket's write completes ours.
                via.write(out)
                        .addListener(
                                f -> {
                                    if (f.isSuccess()) promise.trySuccess();
                                    else promise.tryFailure(f.cause());
                                });
            }
        } else if (!viaRelay) {
            ctx.executor().execute(promise::trySuccess); // no path at all: dropped, as above
        }
        packet.release();
    }

    /**
     * Writes the datagrams in {@code content} (one, or several of {@code segment} bytes each) to
     * the relay, one frame each; the future is the last one's. {@code content} is left as it was.
     */
    private static ChannelFuture writeToRelay(Channel relay, ByteBuf content, int segment) {
        int at = content.readerIndex();
        int end = content.writerIndex();
        ChannelFuture last = null;
        while (at < end) {
            int n = Math.min(segment, end - at);
            last = relay.write(content.retainedSlice(at, n));
            at += n;
        }
        return last != null ? last : relay.newSucceededFuture();
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        Channel r = relay;
        if (r != null) r.flush();
        Channel via = directVia;
        if (via != null) via.flush();
        ctx.flush();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        dropDirect();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        dropDirect();
        ctx.fireChannelInactive();
    }
}
