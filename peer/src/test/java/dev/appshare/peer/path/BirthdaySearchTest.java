package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.path.BirthdayProbe;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The birthday search on loopback, with real sockets on one event loop. The hard side's 256 sockets
 * sit on ports nobody told the easy side, as a NAT that maps per destination would put them; the
 * easy side guesses ports as it would a NAT's. Then the path layer on both sides proves the pair
 * both ways and carries a datagram over it; and strangers without the key, or from another address,
 * change nothing.
 */
class BirthdaySearchTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static EventLoopGroup group;
    private static EventLoop loop;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
        loop = group.next();
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * A fresh random key, as each pair's PAKE gives: with a fixed one, two runs of this class at
     * once (two checkouts) answered each other's probes on loopback, and a search "found" the other
     * run's socket.
     */
    private static byte[] key() {
        byte[] k = new byte[32];
        new java.security.SecureRandom().nextBytes(k);
        return k;
    }

    /** What one side's search reported. */
    static final class Result implements BirthdaySearch.Outcome {
        final CompletableFuture<Object[]> found = new CompletableFuture<>();
        final CompletableFuture<String> gaveUp = new CompletableFuture<>();

        @Override
        public void found(InetSocketAddress local, InetSocketAddress remote, Channel via) {
            found.complete(new Object[] {local, remote, via});
        }

        @Override
        public void gaveUp(String why) {
            gaveUp.complete(why);
        }
    }

    /** The easy side's tunnel socket: the birthday handler, then the path layer. */
    static final class EasySocket {
        final BirthdayHandler birthday = new BirthdayHandler();
        final List<String> paths = new CopyOnWriteArrayList<>();
        final List<byte[]> codec = new CopyOnWriteArrayList<>();
        final PathSwitch pathSwitch = new PathSwitch(listener(paths), true);
        final Channel channel;

        EasySocket() throws InterruptedException {
            channel =
                    new Bootstrap()
                            .group(loop)
                            .channel(EventLoops.datagram())
                            .handler(
                                    new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel ch) {
                                            ch.pipeline()
                                                    .addLast(
                                                            new PortRestricted(),
                                                            birthday,
                                                            pathSwitch,
                                                            sink(codec));
                                        }
                                    })
                            .bind(new InetSocketAddress(LOOPBACK, 0))
                            .sync()
                            .channel();
        }

        InetSocketAddress address() {
            return (InetSocketAddress) channel.localAddress();
        }
    }

    /**
     * The easy side's NAT, as the lab's cone is: what comes in from an address this socket never
     * sent to is dropped (address-and-port-dependent filtering). Without it, the hard side's
     * opening probes would reach the easy side on loopback at once.
     */
    static final class PortRestricted extends io.netty.channel.ChannelDuplexHandler {
        private final java.util.Set<InetSocketAddress> sentTo =
                java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public void write(
                ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
            if (msg instanceof DatagramPacket p) sentTo.add(p.recipient());
            ctx.write(msg, promise);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p && !sentTo.contains(p.sender())) {
                p.release();
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    static PathSwitch.Listener listener(List<String> events) {
        return new PathSwitch.Listener() {
            @Override
            public void pathChanged(String description) {
                events.add(description);
            }

            @Override
            public void allPathsLost(String why) {
                events.add("lost " + why);
            }
        };
    }

    /** Stands for the QUIC codec: keeps what the path layer hands it. */
    static SimpleChannelInboundHandler<DatagramPacket> sink(List<byte[]> into) {
        return new SimpleChannelInboundHandler<>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                into.add(ByteBufUtil.getBytes(p.content()));
            }
        };
    }

    private static <T> T on(java.util.concurrent.Callable<T> task) throws Exception {
        return loop.submit(task).get(10, TimeUnit.SECONDS);
    }

    @Test
    void theHardSidesSocketsAreFoundAndThePathLayerCarriesThePair() throws Exception {
        byte[] key = key();
        EasySocket easy = new EasySocket();
        Result hardResult = new Result();
        Result easyResult = new Result();
        BirthdaySearch hard = on(() -> BirthdaySearch.hard(loop, easy.address(), key, hardResult));
        BirthdaySearch easySearch =
                on(() -> BirthdaySearch.easy(loop, easy.birthday, LOOPBACK, key, easyResult));
        assertNotNull(hard);
        assertNotNull(easySearch);

        Object[] e = easyResult.found.get(15, TimeUnit.SECONDS);
        Object[] h = hardResult.found.get(5, TimeUnit.SECONDS);
        Channel won = (Channel) h[2];
        assertEquals(
                ((InetSocketAddress) won.localAddress()).getPort(),
                ((InetSocketAddress) e[1]).getPort(),
                "the easy side found the hard side's winning socket");
        assertEquals(easy.address(), h[1], "the hard side heard the easy side's address");
        assertNull(e[2], "the easy side stays on the tunnel's socket");
        int probes = on(easySearch::probesSent);
        int sockets = on(hard::socketsOpened);
        assertTrue(probes <= BirthdaySearch.MAX_PROBES, probes + " probes");
        assertTrue(sockets <= BirthdaySearch.MAX_SOCKETS, sockets + " sockets");
        assertTrue(probes > 1, "found by guessing, after " + probes + " probes");
        assertTrue(won.isOpen(), "the winning socket is handed on, open");

        // The path layer on both sides: the hard side's on the winning socket.
        List<String> hardPaths = new CopyOnWriteArrayList<>();
        List<byte[]> hardCodec = new CopyOnWriteArrayList<>();
        Channel hardTunnel =
                new Bootstrap()
                        .group(loop)
                        .channel(EventLoops.datagram())
                        .handler(
                                new ChannelInitializer<Channel>() {
                                    @Override
                                    protected void initChannel(Channel ch) {}
                                })
                        .bind(new InetSocketAddress(LOOPBACK, 0))
                        .sync()
                        .channel();
        PathSwitch hardSwitch = new PathSwitch(listener(hardPaths), true);
        on(
                () -> {
                    hardTunnel.pipeline().addLast(hardSwitch, sink(hardCodec));
                    won.pipeline().addLast(hardSwitch.otherSocketHandler());
                    hardSwitch.directValidated(
                            (InetSocketAddress) won.localAddress(),
                            easy.address(),
                            "birthday search",
                            () -> {},
                            why -> hardPaths.add("unusable " + why),
                            won);
                    easy.pathSwitch.directValidated(
                            easy.address(),
                            (InetSocketAddress) e[1],
                            "birthday search",
                            () -> {},
                            why -> easy.paths.add("unusable " + why));
                    return null;
                });
        waitFor(() -> !hardPaths.isEmpty() && !easy.paths.isEmpty());
        assertTrue(hardPaths.get(0).startsWith("direct (udp"), hardPaths.toString());
        assertTrue(easy.paths.get(0).startsWith("direct (udp"), easy.paths.toString());

        // The hard side's codec sends: it leaves from the winning socket and reaches the easy
        // side's codec through its path layer.
        byte[] quic = new byte[100];
        quic[0] = 0x40;
        quic[1] = 7;
        hardTunnel
                .writeAndFlush(
                        new DatagramPacket(
                                Unpooled.wrappedBuffer(quic),
                                VirtualAddresses.REMOTE,
                                VirtualAddresses.LOCAL))
                .sync();
        waitFor(() -> !easy.codec.isEmpty());
        assertEquals(7, easy.codec.get(0)[1]);

        hardTunnel.close().sync();
        waitFor(() -> !won.isOpen());
        easy.channel.close().sync();
    }

    @Test
    void strangersWithoutTheKeyOrFromAnotherAddressChangeNothing() throws Exception {
        byte[] key = key();
        EasySocket easy = new EasySocket();
        Result hardResult = new Result();
        Result easyResult = new Result();
        try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            // The hard side waits for the easy side's address, which the stranger is not.
            BirthdaySearch hard =
                    on(
                            () ->
                                    BirthdaySearch.hard(
                                            loop,
                                            new InetSocketAddress(LOOPBACK, 9), // nobody
                                            key,
                                            hardResult));
            BirthdaySearch easySearch =
                    on(() -> BirthdaySearch.easy(loop, easy.birthday, LOOPBACK, key, easyResult));
            // Forged datagrams at the easy side's socket: a wrong key, and the right key's shape
            // with an answer to a nonce it never sent.
            for (int i = 0; i < 50; i++) {
                for (byte type : new byte[] {BirthdayProbe.PROBE, BirthdayProbe.ANSWER}) {
                    byte[] forged =
                            ByteBufUtil.getBytes(
                                    BirthdayProbe.encode(
                                            io.netty.buffer.UnpooledByteBufAllocator.DEFAULT,
                                            key(),
                                            type,
                                            i));
                    stranger.send(
                            new java.net.DatagramPacket(forged, forged.length, easy.address()));
                }
                byte[] unasked =
                        ByteBufUtil.getBytes(
                                BirthdayProbe.encode(
                                        io.netty.buffer.UnpooledByteBufAllocator.DEFAULT,
                                        key,
                                        BirthdayProbe.ANSWER,
                                        1_000_000L + i));
                stranger.send(new java.net.DatagramPacket(unasked, unasked.length, easy.address()));
            }
            Thread.sleep(500);
            assertFalse(easyResult.found.isDone(), "no forged datagram was taken");
            assertFalse(hardResult.found.isDone());
            on(
                    () -> {
                        hard.cancel();
                        easySearch.cancel();
                        return null;
                    });
        } finally {
            easy.channel.close().sync();
        }
    }

    @Test
    void aSearchWithNoOneToFindGivesUpWithinItsBudget() throws Exception {
        byte[] key = key();
        EasySocket easy = new EasySocket();
        Result easyResult = new Result();
        // The "hard side" is an address where nothing answers: 127.0.0.2.
        BirthdaySearch s =
                on(
                        () ->
                                BirthdaySearch.easy(
                                        loop,
                                        easy.birthday,
                                        InetAddress.getByName("127.0.0.2"),
                                        key,
                                        easyResult));
        String why = easyResult.gaveUp.get(20, TimeUnit.SECONDS);
        int probes = on(s::probesSent);
        assertTrue(why.matches("the birthday search's \\d+ probes in \\d+ s found no pair"), why);
        assertTrue(probes <= BirthdaySearch.MAX_PROBES, probes + " probes");
        easy.channel.close().sync();
    }

    private static void waitFor(java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        for (int i = 0; i < 200 && !condition.getAsBoolean(); i++) Thread.sleep(25);
        assertTrue(condition.getAsBoolean(), "in time");
    }
}
