package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.tunnel.PathSignals;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ICE restart signals inside the tunnel, between the tunnel's real QUIC codecs on loopback: the
 * share's stream handler (TargetDialHandler) and connect's (NoticeOnly) hand a PATH_SIGNALS stream
 * to the receiver in order, both ways; a stream before the receiver listens, a second stream and a
 * broken frame are closed without a message getting through, and the first stream carries on.
 */
class PathSignalsTest {
    private final BlockingQueue<RendezvousMessage> atShare = new LinkedBlockingQueue<>();
    private final BlockingQueue<RendezvousMessage> atConnector = new LinkedBlockingQueue<>();
    private LoopbackTunnel lab;
    private QuicChannel tunnel;
    private CompletableFuture<QuicChannel> shareSide;

    @BeforeEach
    void connect() throws Exception {
        lab =
                new LoopbackTunnel(
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                SharedTarget nowhere =
                                        new SharedTarget(
                                                new InetSocketAddress("127.0.0.1", 9),
                                                Resolver.JDK);
                                ch.pipeline()
                                        .addLast(
                                                new TargetDialHandler(
                                                        SharedTargets.of(nowhere), "s1"));
                            }
                        });
        tunnel = lab.tunnel;
        shareSide = lab.shareSide;
    }

    @AfterEach
    void close() throws Exception {
        if (lab != null) lab.close();
    }

    private static RendezvousMessage signal(String... kv) {
        return RendezvousMessage.of("SIGNAL", kv);
    }

    @Test
    void signalsArriveInOrderBothWays() throws Exception {
        QuicChannel atShareQuic = shareSide.get(10, TimeUnit.SECONDS);
        tunnel.eventLoop().submit(() -> PathSignals.deliverTo(tunnel, atConnector::add)).sync();
        atShareQuic
                .eventLoop()
                .submit(() -> PathSignals.deliverTo(atShareQuic, atShare::add))
                .sync();
        PathSignals.Sender fromConnector = new PathSignals.Sender(tunnel);
        PathSignals.Sender fromShare = new PathSignals.Sender(atShareQuic);
        for (int i = 0; i < 40; i++) {
            fromConnector.send(signal("gen", "1", "cand", "c" + i));
            fromShare.send(signal("gen", "1", "cand", "s" + i));
        }
        for (int i = 0; i < 40; i++) {
            assertEquals("c" + i, atShare.poll(10, TimeUnit.SECONDS).get("cand"));
            assertEquals("s" + i, atConnector.poll(10, TimeUnit.SECONDS).get("cand"));
        }
    }

    @Test
    void aSenderWhoseStreamTheOtherPeerClosedSaysItIsNotUsable() throws Exception {
        shareSide.get(10, TimeUnit.SECONDS); // the share does not listen for signals
        PathSignals.Sender sender = new PathSignals.Sender(tunnel);
        assertTrue(tunnel.eventLoop().submit(sender::usable).get());
        sender.send(signal("gen", "1", "cand", "unheard"));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (tunnel.eventLoop().submit(sender::usable).get()) {
            assertTrue(System.nanoTime() < end, "the closed stream noticed within 10 s");
            Thread.sleep(20);
        }
        sender.send(signal("gen", "1", "cand", "dropped")); // no error, nothing sent
        assertNull(atShare.poll(200, TimeUnit.MILLISECONDS));
    }

    @Test
    void earlyBrokenAndSecondStreamsAreClosedAndNothingOfThemPasses() throws Exception {
        QuicChannel atShareQuic = shareSide.get(10, TimeUnit.SECONDS);
        // before the share listens: closed, its signal lost
        QuicStreamChannel early = raw(frame(signal("gen", "1", "cand", "early")));
        assertEnded(early);
        atShareQuic
                .eventLoop()
                .submit(() -> PathSignals.deliverTo(atShareQuic, atShare::add))
                .sync();
        // a frame longer than the limit: closed before its body is read; nothing after it passes
        QuicStreamChannel broken =
                raw(
                        Unpooled.buffer()
                                .writeShort(0xFFFF)
                                .writeBytes(new byte[100])
                                .writeBytes(frame(signal("gen", "1", "cand", "broken"))));
        assertEnded(broken);
        // the sender's own stream: read
        PathSignals.Sender sender = new PathSignals.Sender(tunnel);
        sender.send(signal("gen", "1", "cand", "first"));
        assertEquals("first", atShare.poll(10, TimeUnit.SECONDS).get("cand"));
        // a second stream while that one is open: closed
        QuicStreamChannel second = raw(frame(signal("gen", "1", "cand", "second")));
        assertEnded(second);
        sender.send(RendezvousMessage.of("HELLO", "gen", "1")); // not a SIGNAL: ignored
        sender.send(signal("gen", "1", "cand", "last"));
        assertEquals("last", atShare.poll(10, TimeUnit.SECONDS).get("cand"));
        assertNull(atShare.poll(300, TimeUnit.MILLISECONDS), "nothing else: " + atShare);
    }

    /**
     * A stream of our own, opened by hand, with the PATH_SIGNALS preamble and {@code payload}
     * written in one write. One write, because it is the only one sure to be taken: the share may
     * close the stream as soon as it reads the preamble, and a later write would then fail
     * (STOP_SENDING) or, once quiche collected the stream, wait in netty's queue until the
     * connection ends (it did, one run in three, 30 s later on the idle timeout).
     */
    private QuicStreamChannel raw(ByteBuf payload) throws Exception {
        QuicStreamChannel s =
                tunnel.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .handler(new Ended())
                        .create()
                        .get(10, TimeUnit.SECONDS);
        ByteBuf first =
                Unpooled.buffer().writeByte(StreamPreamble.PATH_SIGNALS).writeBytes(payload);
        payload.release();
        s.writeAndFlush(first).sync();
        return s;
    }

    /** Waits until the share ended {@code s} (a reset, or its FIN). */
    private static void assertEnded(QuicStreamChannel s) throws Exception {
        s.pipeline().get(Ended.class).ended.get(10, TimeUnit.SECONDS);
    }

    /** Notes when the other side ended a stream: its reset, its FIN, or the stream's close. */
    private static final class Ended extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Void> ended = new CompletableFuture<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) ended.complete(null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ended.complete(null);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ended.complete(null);
        }
    }

    /** One message framed as on the control connection. */
    private static ByteBuf frame(RendezvousMessage m) {
        byte[] body = m.encode().getBytes(StandardCharsets.UTF_8);
        return Unpooled.buffer().writeShort(body.length).writeBytes(body);
    }
}
