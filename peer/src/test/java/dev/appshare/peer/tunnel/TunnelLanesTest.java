package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.concurrent.Future;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TunnelLanes} between the tunnel's real QUIC codecs on loopback: a burst of streams spreads
 * over as many lanes as it needs, none past {@link TunnelLanes#STREAMS_PER_LANE}, and every stream
 * carries its bytes; a share that refuses a second connection (as versions before lanes do) costs
 * no stream, and the tunnel stays on one lane; the first connection's end closes the lanes.
 */
class TunnelLanesTest {
    private static final int BURST = 300; // 128 + 128 + 44: three lanes
    // lanes the share takes: time for a loaded machine; ignored ones: a test's patience
    private static final long ACCEPT_MILLIS = 10_000;
    private static final long IGNORED_ACCEPT_MILLIS = 1_000;

    private final PeerIdentity shareKey = PeerIdentity.generate();
    private final PeerIdentity connectKey = PeerIdentity.generate();
    private final EventLoopGroup group = EventLoops.newGroup(1);
    private final List<QuicChannel> shareConnections = new CopyOnWriteArrayList<>();
    private Channel share;
    // the tunnel's bound on the share's streams, small enough to count
    private final TunnelClient.StreamsFromShare fromShare = new TunnelClient.StreamsFromShare(10);
    private Channel connector;

    @AfterEach
    void stop() throws Exception {
        if (connector != null) connector.close().await(5, TimeUnit.SECONDS);
        if (share != null) share.close().await(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    @Test
    void aBurstSpreadsOverTheLanesItNeedsAndEveryStreamCarriesItsBytes() throws Exception {
        TunnelLanes lanes = start(true);
        List<CompletableFuture<String>> echoes = burst(lanes, BURST);
        assertEchoes(echoes);
        assertEquals(3, lanes.count());
        assertArrayEquals(new int[] {128, 128, 44}, lanes.openStreams());
        assertEquals(3, shareConnections.size(), "the share saw the first and two lanes");
    }

    @Test
    void aShareThatRefusesLanesCostsNoStream() throws Exception {
        TunnelLanes lanes = start(false);
        List<CompletableFuture<String>> echoes = burst(lanes, BURST);
        assertEchoes(echoes);
        assertEquals(1, lanes.count());
        assertArrayEquals(new int[] {BURST}, lanes.openStreams());
        // it asked for the lanes the burst wanted (two, at once), and asks no more
        int asked = shareConnections.size();
        assertTrue(asked == 2 || asked == 3, "connections the share saw: " + asked);
        burst(lanes, 10).get(9).get(20, TimeUnit.SECONDS);
        assertEquals(asked, shareConnections.size());
        assertArrayEquals(new int[] {BURST + 10}, lanes.openStreams());
    }

    /**
     * A share that neither takes nor refuses a lane: the streams waiting for it go on the first
     * once the lane's deadline passed, and the lane is closed (the share sees it go).
     */
    @Test
    void aLaneNeverAcceptedIsClosedAtItsDeadlineAndCostsNoStream() throws Exception {
        TunnelLanes lanes = start(Lanes.IGNORED);
        List<CompletableFuture<String>> echoes = burst(lanes, BURST);
        assertEchoes(echoes);
        assertEquals(1, lanes.count());
        assertArrayEquals(new int[] {BURST}, lanes.openStreams());
        awaitTrue(
                () ->
                        shareConnections.size() > 1
                                && shareConnections.stream().skip(1).noneMatch(Channel::isActive),
                () -> "the lanes the share ignored are still open: " + shareConnections);
        assertTrue(shareConnections.get(0).isActive(), "the tunnel itself carries on");
    }

    /**
     * QUIC's limit on the share's streams is per connection: over three lanes the share could hold
     * three times as many silent streams in connect. The tunnel's own bound holds over all of them.
     */
    @Test
    void theSharesStreamsAreBoundedOverAllTheLanes() throws Exception {
        TunnelLanes lanes = start(true);
        burst(lanes, BURST).get(BURST - 1).get(20, TimeUnit.SECONDS);
        assertEquals(3, shareConnections.size());
        List<QuicStreamChannel> silent = new ArrayList<>();
        for (QuicChannel q : shareConnections)
            for (int i = 0; i < 10; i++) {
                QuicStreamChannel s =
                        q.newStreamBootstrap()
                                .type(QuicStreamType.BIDIRECTIONAL)
                                .handler(new ChannelInboundHandlerAdapter())
                                .create()
                                .get(10, TimeUnit.SECONDS);
                // one byte of an abort notice (it needs nine): connect would wait for the rest
                s.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {StreamPreamble.ABORT_STREAM}))
                        .sync();
                silent.add(s);
            }
        awaitTrue(
                () -> fromShare.refused() == 20,
                () -> "the share's streams connect refused: " + fromShare.refused());
        assertEquals(10, fromShare.open(), "held by connect, over its three lanes");
    }

    @Test
    void theFirstConnectionsEndClosesTheLanes() throws Exception {
        TunnelLanes lanes = start(true);
        List<CompletableFuture<String>> echoes = burst(lanes, BURST);
        echoes.get(BURST - 1).get(20, TimeUnit.SECONDS);
        assertEquals(3, lanes.count());
        shareConnections.get(0).close();
        awaitTrue(
                () -> shareConnections.stream().noneMatch(Channel::isActive),
                () -> "share's connections still open: " + shareConnections);
    }

    private static void assertEchoes(List<CompletableFuture<String>> echoes) throws Exception {
        for (int i = 0; i < echoes.size(); i++)
            assertEquals("stream " + i, echoes.get(i).get(20, TimeUnit.SECONDS));
    }

    /** Opens {@code n} streams at once; each sends "stream i" and completes with the echo. */
    private static List<CompletableFuture<String>> burst(TunnelLanes lanes, int n) {
        List<CompletableFuture<String>> echoes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CompletableFuture<String> echo = new CompletableFuture<>();
            echoes.add(echo);
            String text = "stream " + i;
            Future<QuicStreamChannel> f =
                    lanes.openStream(
                            b ->
                                    b.type(QuicStreamType.BIDIRECTIONAL)
                                            .handler(
                                                    new ChannelInboundHandlerAdapter() {
                                                        @Override
                                                        public void channelRead(
                                                                ChannelHandlerContext ctx,
                                                                Object msg) {
                                                            ByteBuf b = (ByteBuf) msg;
                                                            echo.complete(
                                                                    b.toString(
                                                                            StandardCharsets
                                                                                    .US_ASCII));
                                                            b.release();
                                                        }
                                                    }));
            f.addListener(
                    x -> {
                        if (x.isSuccess())
                            ((QuicStreamChannel) x.getNow())
                                    .writeAndFlush(
                                            Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
                        else echo.completeExceptionally(x.cause());
                    });
        }
        return echoes;
    }

    /**
     * The share's codec (its streams echo what they read) and connect's first connection; the share
     * accepts lanes as {@code SharerSession} does (a DATAGRAM on each), or closes any connection
     * past the first.
     */
    private TunnelLanes start(boolean acceptLanes) throws Exception {
        return start(acceptLanes ? Lanes.ACCEPTED : Lanes.REFUSED);
    }

    /** What the share does with a connection past the first. */
    private enum Lanes {
        ACCEPTED,
        REFUSED,
        IGNORED
    }

    private TunnelLanes start(Lanes policy) throws Exception {
        share =
                LoopbackUdp.bind(
                        group,
                        TunnelCodecs.server(
                                shareKey,
                                connectKey.fingerprint(),
                                false,
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public boolean isSharable() {
                                        return true;
                                    }

                                    @Override
                                    public void channelActive(ChannelHandlerContext ctx) {
                                        QuicChannel q = (QuicChannel) ctx.channel();
                                        shareConnections.add(q);
                                        if (shareConnections.size() > 1) {
                                            if (policy == Lanes.ACCEPTED)
                                                q.writeAndFlush(
                                                        Unpooled.wrappedBuffer(
                                                                TunnelLanes.ACCEPTED));
                                            else if (policy == Lanes.REFUSED) q.close();
                                        }
                                        ctx.fireChannelActive();
                                    }
                                },
                                new ChannelInitializer<QuicStreamChannel>() {
                                    @Override
                                    protected void initChannel(QuicStreamChannel ch) {
                                        ch.pipeline().addLast(new Echo());
                                    }
                                }));
        connector =
                LoopbackUdp.bind(
                        group, TunnelCodecs.client(connectKey, shareKey.fingerprint(), false));
        QuicChannel first = connect(new ChannelInboundHandlerAdapter()).get(10, TimeUnit.SECONDS);
        // a long wait: the test counts streams per lane, not what a slow machine's timer does
        return new TunnelLanes(
                first,
                this::connect,
                TunnelLanes.MAX_LANES,
                30_000,
                policy == Lanes.IGNORED ? IGNORED_ACCEPT_MILLIS : ACCEPT_MILLIS);
    }

    private Future<QuicChannel> connect(ChannelHandler acceptance) {
        return QuicChannel.newBootstrap(connector)
                .handler(acceptance)
                .streamHandler(fromShare.initializer())
                .remoteAddress(share.localAddress())
                .connect();
    }

    /** The share's streams: what they read goes back (they do not read on their own). */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            ctx.read();
        }
    }

    private static void awaitTrue(BooleanSupplier done, Supplier<String> what)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, what);
            Thread.sleep(20);
        }
    }
}
