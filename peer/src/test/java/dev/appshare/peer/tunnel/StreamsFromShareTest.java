package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.tunnel.PathSignals;
import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamCredit;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamRelease;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The streams a share opens in {@code connect} (or the gateway), between the tunnel's real QUIC
 * codecs on loopback. A malicious share's streams each send one byte of an abort notice and then
 * nothing, so connect keeps them open waiting for the rest: connect takes {@link
 * TunnelCodecs#MAX_STREAMS_FROM_SHARE} of them at once, not the 100,000 a connector may open in the
 * share. An honest share's control streams ({@link StreamCredit}) wait for credit instead of being
 * refused, and get it as soon as streams close (connect closes a stream ended before its preamble).
 */
class StreamsFromShareTest {
    private static final int LIMIT = (int) TunnelCodecs.MAX_STREAMS_FROM_SHARE;
    private final AtomicInteger seenByConnect = new AtomicInteger();
    private final AtomicInteger closedByConnect = new AtomicInteger();
    private LoopbackTunnel lab;
    private QuicChannel share;

    @BeforeEach
    void connect() throws Exception {
        lab =
                new LoopbackTunnel(
                        new ChannelInboundHandlerAdapter(),
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                // as TunnelClient's
                                seenByConnect.incrementAndGet();
                                ch.closeFuture()
                                        .addListener(f -> closedByConnect.incrementAndGet());
                                QuicStreamRelease.whenClosed(ch, SpliceHandler.ABORT_ERROR);
                                ch.pipeline().addLast(new StreamAborts.NoticeOnly());
                            }
                        });
        share = lab.shareSide.get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void close() throws Exception {
        if (lab != null) lab.close();
    }

    @Test
    void connectHoldsABoundedNumberOfTheSharesStreams() throws Exception {
        int opened = 0;
        for (int i = 0; i < LIMIT + 500; i++) {
            if (openSilent() != null) opened++;
        }
        assertEquals(LIMIT, opened, "opened by the share; the rest refused by QUIC");
        awaitCount(seenByConnect, LIMIT, "streams connect saw");
        Thread.sleep(300);
        assertEquals(LIMIT, seenByConnect.get(), "held by connect");
        assertEquals(0, closedByConnect.get(), "closed by connect");
    }

    @Test
    void controlStreamsWaitForCreditAndGetItWhenStreamsClose() throws Exception {
        List<QuicStreamChannel> silent = new ArrayList<>();
        for (int i = 0; i < LIMIT; i++) silent.add(openSilent());
        assertTrue(silent.stream().allMatch(s -> s != null), "all within the limit");
        AtomicInteger controlOpened = new AtomicInteger();
        share.eventLoop()
                .submit(
                        () -> {
                            for (int i = 0; i < 200; i++) {
                                assertTrue(
                                        StreamCredit.open(
                                                share,
                                                new ChannelInboundHandlerAdapter(),
                                                s -> controlOpened.incrementAndGet()));
                            }
                        })
                .sync();
        Thread.sleep(300);
        assertEquals(0, controlOpened.get(), "no credit: all wait");
        // The share ends 100 silent streams before their preamble: connect closes them, and the
        // credit comes back.
        for (QuicStreamChannel s : silent.subList(0, 100)) s.close().sync();
        awaitCount(controlOpened, 100, "control streams opened");
        Thread.sleep(300);
        assertEquals(100, controlOpened.get(), "no more than the credit");
        for (QuicStreamChannel s : silent.subList(100, 200)) s.close().sync();
        awaitCount(controlOpened, 200, "control streams opened");
        awaitCount(closedByConnect, 200, "silent streams connect closed");
    }

    @Test
    void aSignalSenderWaitingForCreditSaysItIsNotUsableOnceTheTunnelCloses() throws Exception {
        for (int i = 0; i < LIMIT; i++) assertTrue(openSilent() != null, "within the limit");
        PathSignals.Sender sender = new PathSignals.Sender(share);
        sender.send(RendezvousMessage.of("SIGNAL", "restart", "1"));
        Thread.sleep(200);
        assertTrue(share.eventLoop().submit(sender::usable).get(), "waits for credit: usable");
        share.close().sync();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (share.eventLoop().submit(sender::usable).get()) {
            assertTrue(System.nanoTime() < end, "still usable after its tunnel closed");
            Thread.sleep(20);
        }
    }

    private static void awaitCount(AtomicInteger n, int want, String what) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (n.get() < want) {
            assertTrue(System.nanoTime() < end, what + ": " + n.get() + " of " + want);
            Thread.sleep(20);
        }
    }

    /**
     * A stream of the share's, with one byte of an abort notice written (it needs nine), or null
     * when QUIC's stream limit refused it.
     */
    private QuicStreamChannel openSilent() throws Exception {
        Future<QuicStreamChannel> f =
                share.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .handler(new ChannelInboundHandlerAdapter())
                        .create()
                        .await();
        if (!f.isSuccess()) return null;
        QuicStreamChannel s = f.getNow();
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {StreamPreamble.ABORT_STREAM})).sync();
        return s;
    }
}
