package dev.appshare.peer.path;

import dev.appshare.wire.net.DescriptorLimit;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.path.BirthdayProbe;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The birthday search (issue 13; docs/protocol.md §5): a direct path between a NAT that maps every
 * destination to a new port (the hard side) and one that keeps one mapping per socket (the easy
 * side), which plain ICE cannot punch: the hard side's port towards the easy side is not the one
 * the server saw, and the easy side's NAT admits only what it sent to.
 *
 * <ul>
 *   <li>The hard side opens {@value #MAX_SOCKETS} extra UDP sockets and sends one probe from each
 *       to the easy side's public address: its NAT then holds that many mappings towards it, on
 *       ports nobody knows.
 *   <li>The easy side sends probes from the tunnel's own socket (whose public address the hard side
 *       used) to random ports of the hard side's public address, {@value #PROBES_PER_TICK} every
 *       {@value #TICK_MILLIS} ms. A probe that hits one of the hard side's mappings passes its NAT
 *       (the mapping was made towards this very address) and opens the easy side's NAT for the
 *       answer.
 *   <li>The socket it reached answers from that mapping; the easy side adopts that address, the
 *       hard side that socket, and the path layer proves the pair both ways with its own probes
 *       before the tunnel moves there.
 * </ul>
 *
 * With 256 mappings among ~64,000 ports, 1,024 random probes find one with ~98% probability and
 * 2,048 with ~99.97% (tailscale, "How NAT traversal works"). Budgets: {@value #MAX_SOCKETS} sockets
 * (and only with {@value #DESCRIPTOR_RESERVE} descriptors to spare beyond them), {@value
 * #MAX_PROBES} probes, {@value #MAX_MILLIS} ms, 400 probes a second, and at most {@value
 * #MAX_SEARCHES} searches at once per process. Every probe and answer carries a tag under a key
 * from the peers' PAKE ({@link BirthdayProbe}), and only the expected address is heard: the easy
 * side's exact public address on the hard side, the hard side's public IP on the easy side. All of
 * it runs on the tunnel's event loop.
 */
public final class BirthdaySearch {
    /** The purpose the PAKE's derived key is drawn for (PakeExchange.derivedKey). */
    public static final String KEY_PURPOSE = "birthday probes v1";

    public static final int MAX_SOCKETS = 256;
    public static final int MAX_PROBES = 2_048;
    public static final long MAX_MILLIS = 10_000;
    public static final int MAX_SEARCHES = 2;

    /** Descriptors the hard side leaves free for the process's connections, at least. */
    static final int DESCRIPTOR_RESERVE = 1024;

    /** The easy side's pace: 8 probes per 20 ms, 400 a second (2,048 in about 5.1 s). */
    static final int PROBES_PER_TICK = 8;

    static final long TICK_MILLIS = 20;

    /** The hard side opens its sockets 16 per tick: all 256 within about 0.3 s. */
    static final int SOCKETS_PER_TICK = 16;

    /** Ports the easy side guesses: where Linux's and most NATs' mappings are drawn from. */
    static final int LOWEST_PORT = 1024;

    private static final AtomicInteger RUNNING = new AtomicInteger();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What a search found, or why it found nothing; on the event loop, once. */
    public interface Outcome {
        /**
         * A pair answered: {@code remote} from {@code local}, on {@code via} (the hard side's
         * winning socket, now the caller's) or on the tunnel's socket (null).
         */
        void found(InetSocketAddress local, InetSocketAddress remote, Channel via);

        void gaveUp(String why);
    }

    private final EventLoop loop;
    private final byte[] key;
    private final Outcome outcome;
    private final long startNanos;
    private ScheduledFuture<?> ticker;
    private boolean over;

    // the easy side
    private BirthdayHandler socket;
    private InetAddress hardAddress;
    private final Set<Long> sent = new HashSet<>();
    private int probes;

    // the hard side
    private InetSocketAddress easyAddress;
    private final List<Channel> sockets = new ArrayList<>();
    private int opened;

    private BirthdaySearch(EventLoop loop, byte[] key, Outcome outcome) {
        this.loop = loop;
        this.key = key;
        this.outcome = outcome;
        this.startNanos = System.nanoTime();
    }

    /** Takes a search slot, or returns false when {@value #MAX_SEARCHES} run already. */
    private static boolean admit() {
        if (RUNNING.incrementAndGet() <= MAX_SEARCHES) return true;
        RUNNING.decrementAndGet();
        return false;
    }

    /**
     * The easy side's search: probes from the tunnel's socket ({@code socket}) to random ports of
     * {@code hard}. Null when the process runs its most searches already. On the event loop.
     */
    static BirthdaySearch easy(
            EventLoop loop, BirthdayHandler socket, InetAddress hard, byte[] key, Outcome outcome) {
        if (!admit()) return null;
        BirthdaySearch s = new BirthdaySearch(loop, key, outcome);
        s.socket = socket;
        s.hardAddress = hard;
        socket.searching(s::easyReceived);
        s.ticker = loop.scheduleAtFixedRate(s::easyTick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return s;
    }

    /**
     * The hard side's search: {@value #MAX_SOCKETS} sockets, each sending one probe to {@code
     * easy}. Null when the process runs its most searches already. On the event loop.
     */
    static BirthdaySearch hard(
            EventLoop loop, InetSocketAddress easy, byte[] key, Outcome outcome) {
        if (!descriptorsToSpare() || !admit()) return null;
        BirthdaySearch s = new BirthdaySearch(loop, key, outcome);
        s.easyAddress = easy;
        s.ticker = loop.scheduleAtFixedRate(s::hardTick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return s;
    }

    /**
     * Whether the process can open {@value #MAX_SOCKETS} sockets and keep {@value
     * #DESCRIPTOR_RESERVE} descriptors for its connections (where the JVM can tell).
     */
    private static boolean descriptorsToSpare() {
        java.util.OptionalLong soft = DescriptorLimit.soft();
        long open = DescriptorLimit.open();
        return soft.isEmpty()
                || open < 0
                || soft.getAsLong() - open >= MAX_SOCKETS + DESCRIPTOR_RESERVE;
    }

    private long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private void easyTick() {
        if (over) return;
        if (probes >= MAX_PROBES || elapsedMillis() >= MAX_MILLIS) {
            end();
            outcome.gaveUp(
                    "the birthday search's "
                            + probes
                            + " probes in "
                            + Math.round(elapsedMillis() / 1000.0)
                            + " s found no pair");
            return;
        }
        for (int i = 0; i < PROBES_PER_TICK && probes < MAX_PROBES; i++) {
            long nonce = RANDOM.nextLong();
            sent.add(nonce);
            probes++;
            int port = LOWEST_PORT + RANDOM.nextInt(65536 - LOWEST_PORT);
            if (!socket.send(
                    new DatagramPacket(
                            BirthdayProbe.encode(
                                    socket.localAlloc(), key, BirthdayProbe.PROBE, nonce),
                            new InetSocketAddress(hardAddress, port)))) {
                end();
                outcome.gaveUp("the tunnel's socket closed");
                return;
            }
        }
    }

    /** A birthday datagram on the tunnel's socket. */
    private void easyReceived(DatagramPacket p) {
        try {
            if (over
                    || !p.sender().getAddress().equals(hardAddress)
                    || !BirthdayProbe.verify(key, p.content())) return;
            byte type = BirthdayProbe.type(p.content());
            long nonce = BirthdayProbe.nonce(p.content());
            if (type == BirthdayProbe.ANSWER && !sent.contains(nonce)) return;
            if (type == BirthdayProbe.PROBE) {
                // the hard side's opening probe got through: our NAT is open to that mapping
                socket.send(
                        new DatagramPacket(
                                BirthdayProbe.encode(
                                        socket.localAlloc(), key, BirthdayProbe.ANSWER, nonce),
                                p.sender()));
            }
            end();
            outcome.found(socket.localAddress(), p.sender(), null);
        } finally {
            p.release();
        }
    }

    private void hardTick() {
        if (over) return;
        if (elapsedMillis() >= MAX_MILLIS) {
            end();
            outcome.gaveUp(
                    "the birthday search's "
                            + opened
                            + " sockets heard no probe in "
                            + Math.round(elapsedMillis() / 1000.0)
                            + " s");
            return;
        }
        for (int i = 0; i < SOCKETS_PER_TICK && opened < MAX_SOCKETS; i++) {
            opened++;
            ChannelFuture bound =
                    new Bootstrap()
                            .group(loop)
                            .channel(EventLoops.datagram())
                            .handler(new HardSocket())
                            .bind(new InetSocketAddress(0));
            Channel ch = bound.channel();
            sockets.add(ch);
            bound.addListener(
                    f -> {
                        if (!f.isSuccess() || over) return;
                        ch.writeAndFlush(
                                new DatagramPacket(
                                        BirthdayProbe.encode(
                                                ch.alloc(),
                                                key,
                                                BirthdayProbe.PROBE,
                                                RANDOM.nextLong()),
                                        easyAddress));
                    });
        }
    }

    /** One of the hard side's sockets: hears only the easy side's address, with a right tag. */
    private final class HardSocket extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!(msg instanceof DatagramPacket p)
                        || over
                        || !p.sender().equals(easyAddress)
                        || !BirthdayProbe.is(p.content())
                        || !BirthdayProbe.verify(key, p.content())) return;
                Channel won = ctx.channel();
                if (BirthdayProbe.type(p.content()) == BirthdayProbe.PROBE) {
                    won.writeAndFlush(
                            new DatagramPacket(
                                    BirthdayProbe.encode(
                                            won.alloc(),
                                            key,
                                            BirthdayProbe.ANSWER,
                                            BirthdayProbe.nonce(p.content())),
                                    easyAddress));
                }
                sockets.remove(won);
                ctx.pipeline().remove(this);
                end();
                outcome.found((InetSocketAddress) won.localAddress(), easyAddress, won);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    /** Stops the search: its timer, its sockets (but a winner handed on), its slot. Once. */
    private void end() {
        if (over) return;
        over = true;
        if (ticker != null) ticker.cancel(false);
        if (socket != null) socket.searching(null);
        for (Channel ch : sockets) ch.close();
        sockets.clear();
        RUNNING.decrementAndGet();
    }

    /** Ends the search without an outcome (the tunnel closed, or a direct path formed). */
    public void cancel() {
        if (loop.inEventLoop()) end();
        else loop.execute(this::end);
    }

    /** Probes the easy side sent so far. */
    int probesSent() {
        return probes;
    }

    /** Sockets the hard side opened so far. */
    int socketsOpened() {
        return opened;
    }
}
