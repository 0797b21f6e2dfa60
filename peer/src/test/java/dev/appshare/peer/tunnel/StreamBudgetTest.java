package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.tunnel.PathSignals;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamRelease;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The share's {@link StreamBudget} against a connector that has the code and opens streams without
 * end, between the tunnel's real QUIC codecs on loopback and a real TCP service that holds every
 * connection: one session holds at most its part (the streams past it are reset with {@link
 * StreamPreamble#BUSY_ERROR} before anything is dialled), another session still gets its
 * connections, the total holds for both, and a closed stream gives its place back. A stream that
 * sends part of its preamble and then nothing is reset once {@link
 * TargetDialHandler#PREAMBLE_MILLIS} have passed, and its place comes back too.
 */
class StreamBudgetTest {
    private static final int TOTAL = 30;
    private static final int PER_SESSION = 20;

    private final StreamBudget budget = new StreamBudget(TOTAL, PER_SESSION);
    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private ServerSocket service;
    private Thread acceptor;
    private LoopbackTunnel first;
    private LoopbackTunnel second;

    @BeforeEach
    void start() throws Exception {
        service = new ServerSocket(0, 200, java.net.InetAddress.getLoopbackAddress());
        acceptor =
                new Thread(
                        () -> {
                            try {
                                while (held.size() < 500) held.add(service.accept());
                            } catch (Exception closed) {
                                // the test is over
                            }
                        },
                        "holding-service");
        acceptor.setDaemon(true);
        acceptor.start();
        first = lab("first");
        second = lab("second");
    }

    private LoopbackTunnel lab(String name) throws Exception {
        StreamBudget.Session session = budget.session();
        SharedTarget target =
                new SharedTarget(
                        new InetSocketAddress("127.0.0.1", service.getLocalPort()), Resolver.JDK);
        return new LoopbackTunnel(
                new ChannelInitializer<QuicStreamChannel>() {
                    @Override
                    protected void initChannel(QuicStreamChannel ch) {
                        ch.pipeline()
                                .addLast(
                                        new TargetDialHandler(
                                                SharedTargets.of(target),
                                                name,
                                                new dev.appshare.peer.Traffic(),
                                                dev.appshare.wire.tunnel.PausedStreams.warningTo(
                                                        org.slf4j.LoggerFactory.getLogger(
                                                                StreamBudgetTest.class),
                                                        "connection to"),
                                                false,
                                                session));
                    }
                });
    }

    @AfterEach
    void stop() throws Exception {
        if (first != null) first.close();
        if (second != null) second.close();
        service.close();
        for (Socket s : held) s.close();
    }

    @Test
    void aConnectorHoldsItsPartAnotherStillGetsInAndTheTotalHolds() throws Exception {
        List<Opened> a = open(first, PER_SESSION + 5, StreamPreamble.encode(0, true));
        awaitTrue(() -> held.size() == PER_SESSION, () -> "held by the service: " + held.size());
        awaitTrue(() -> busy(a) == 5, () -> "refused past the session's part: " + busy(a));
        assertEquals(PER_SESSION, budget.open());

        List<Opened> b = open(second, TOTAL - PER_SESSION + 3, StreamPreamble.encode(0, true));
        awaitTrue(() -> held.size() == TOTAL, () -> "held by the service: " + held.size());
        awaitTrue(() -> busy(b) == 3, () -> "refused past the total: " + busy(b));
        Thread.sleep(300);
        assertEquals(TOTAL, held.size(), "nothing dialled past the budget");

        // The service ends five of the first connector's connections (the first it accepted):
        // those streams close, and their places come back.
        for (Socket s : held.subList(0, 5)) s.close();
        awaitTrue(() -> budget.open() == TOTAL - 5, () -> "held: " + budget.open());
        List<Opened> more = open(second, 5, StreamPreamble.encode(0, true));
        awaitTrue(() -> held.size() == TOTAL + 5, () -> "held by the service: " + held.size());
        assertEquals(0, busy(more), "admitted again");
        assertEquals(TOTAL, budget.open());
    }

    @Test
    void aStreamThatNeverEndsItsPreambleIsResetAfterTheDeadline() throws Exception {
        // OPEN_PORT wants two more bytes that never come
        List<Opened> partial = open(first, 3, new byte[] {StreamPreamble.OPEN_PORT});
        awaitTrue(() -> budget.open() == 3, () -> "held: " + budget.open());
        Thread.sleep(TargetDialHandler.PREAMBLE_MILLIS / 2);
        assertEquals(0, late(partial), "reset before the deadline");
        long end =
                System.nanoTime()
                        + TimeUnit.MILLISECONDS.toNanos(TargetDialHandler.PREAMBLE_MILLIS);
        while (late(partial) < 3) {
            assertTrue(System.nanoTime() < end, "reset " + late(partial) + " of 3 by the deadline");
            Thread.sleep(50);
        }
        awaitTrue(() -> budget.open() == 0, () -> "held: " + budget.open());
        assertEquals(0, held.size(), "nothing dialled");
    }

    @Test
    void theBudgetCountsSessionsAndTheTotal() {
        StreamBudget b = new StreamBudget(3, 2);
        StreamBudget.Session s1 = b.session();
        StreamBudget.Session s2 = b.session();
        assertNull(s1.admit());
        assertNull(s1.admit());
        assertNotNull(s1.admit(), "past the session's part");
        assertNull(s2.admit());
        assertNotNull(s2.admit(), "past the total");
        assertEquals(3, b.open());
        s1.release();
        assertNull(s2.admit());
        assertEquals(2, s2.held());
        assertEquals(1, s1.held());
        long limit = dev.appshare.wire.net.DescriptorLimit.soft().orElse(4096);
        StreamBudget sized = StreamBudget.fromDescriptors();
        assertEquals(
                Math.min(
                        StreamBudget.MAX_TOTAL,
                        Math.max(64, (limit - StreamBudget.RESERVED_DESCRIPTORS) * 3 / 4)),
                sized.total());
        assertEquals(sized.total() / 2, sized.perSession());
    }

    @Test
    void refusedStreamsAreForgottenAndControlStreamsStillPassAFullBudget() throws Exception {
        open(first, PER_SESSION, StreamPreamble.encode(0, true));
        awaitTrue(() -> held.size() == PER_SESSION, () -> "held by the service: " + held.size());
        long before = dev.appshare.peer.e2e.AbortedStreamsTest.liveStreams();
        List<Opened> refused = open(first, 300, StreamPreamble.encode(0, true));
        awaitTrue(() -> busy(refused) == 300, () -> "refused: " + busy(refused));
        refused.clear(); // the test's own references to connect's side of them
        // netty keeps a stream channel until told to forget it (QuicStreamRelease): a refused
        // stream must be forgotten too, or a connector at its budget grows the share's heap
        long after = before;
        for (int i = 0; i < 50; i++) {
            after = dev.appshare.peer.e2e.AbortedStreamsTest.liveStreams();
            if (after - before < 30) break;
            Thread.sleep(100);
        }
        assertTrue(after - before < 30, "stream channels before " + before + ", after " + after);

        // The session is full: its signal stream and an abort notice still get through.
        QuicChannel share = first.shareSide.get(10, TimeUnit.SECONDS);
        share.eventLoop().submit(() -> PathSignals.deliverTo(share, m -> {})).sync();
        List<Opened> signals = open(first, 1, new byte[] {StreamPreamble.PATH_SIGNALS});
        List<Opened> notice =
                open(first, 1, StreamPreamble.encodeAbort(1L << 40) /* no such stream */);
        List<Opened> plain = open(first, 1, StreamPreamble.encode(0, true));
        awaitTrue(
                () -> busy(plain) == 1,
                () -> "a connection past the budget is refused: " + plain.get(0).reset);
        Thread.sleep(300);
        assertEquals(0, busy(signals), "the signal stream was refused");
        assertEquals(0, busy(notice), "the abort notice was refused");
        assertTrue(signals.get(0).stream.isActive(), "the signal stream is open");
        assertEquals(PER_SESSION, held.size(), "nothing dialled past the budget");
    }

    private record Opened(QuicStreamChannel stream, CompletableFuture<Long> reset) {}

    private static long busy(List<Opened> streams) {
        return resetWith(streams, StreamPreamble.BUSY_ERROR);
    }

    private static long late(List<Opened> streams) {
        return resetWith(streams, StreamPreamble.LATE_ERROR);
    }

    private static long resetWith(List<Opened> streams, int error) {
        return streams.stream()
                .filter(o -> o.reset.isDone() && o.reset.getNow(-1L) == error)
                .count();
    }

    /** Opens {@code n} streams in {@code lab}'s tunnel, each sending {@code preamble}. */
    private static List<Opened> open(LoopbackTunnel lab, int n, byte[] preamble) throws Exception {
        QuicChannel tunnel = lab.tunnel;
        List<Opened> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CompletableFuture<Long> reset = new CompletableFuture<>();
            QuicStreamChannel s =
                    tunnel.newStreamBootstrap()
                            .type(QuicStreamType.BIDIRECTIONAL)
                            .handler(
                                    new ChannelInboundHandlerAdapter() {
                                        @Override
                                        public void channelRead(
                                                ChannelHandlerContext ctx, Object msg) {
                                            ReferenceCountUtil.release(msg);
                                        }

                                        @Override
                                        public void userEventTriggered(
                                                ChannelHandlerContext ctx, Object evt) {
                                            // as a client closes once the server closed
                                            if (evt instanceof ChannelInputShutdownEvent)
                                                ctx.close();
                                        }

                                        @Override
                                        public void exceptionCaught(
                                                ChannelHandlerContext ctx, Throwable cause) {
                                            if (cause instanceof QuicStreamResetException e)
                                                reset.complete(e.applicationProtocolCode());
                                            ctx.close(); // as connect closes a reset connection
                                        }
                                    })
                            .create()
                            .sync()
                            .getNow();
            QuicStreamRelease.whenClosed(s, SpliceHandler.ABORT_ERROR); // as connect's are
            s.writeAndFlush(Unpooled.wrappedBuffer(preamble)).sync();
            out.add(new Opened(s, reset));
        }
        return out;
    }

    private static void awaitTrue(BooleanSupplier done, java.util.function.Supplier<String> what)
            throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, what.get());
            Thread.sleep(20);
        }
    }
}
