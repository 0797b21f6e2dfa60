package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.path.UdpGate;
import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamEnds;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamFrame;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.handler.codec.quic.QuicStreamType;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An end that QUIC loses for good still arrives, by its end record (StreamEnds), between the
 * tunnel's real QUIC codecs on loopback. The loss is made exactly as it happens: the share answers
 * a stream whose FIN it has read, the packet with its own FIN is lost, and the acknowledgement of
 * its answer's bytes arrives after that: quiche (0.24.5) then counts the stream done and forgets
 * it, and never sends the FIN again: the first test fails without the records (no end within 10 s).
 * The others hold the receiving side to the wire format: a RESET record fails the stream it names,
 * a FIN record ends it only once its final size is read, and records for streams not open here or
 * of unknown kinds change nothing.
 */
class StreamEndsTest {
    // Within QUIC's first congestion window: all of it leaves before any acknowledgement.
    static final int ANSWER = 4 << 10;

    private final UdpGate shareGate = new UdpGate(UdpGate.Mode.OPEN);
    private final UdpGate connectGate = new UdpGate(UdpGate.Mode.OPEN);
    private LoopbackTunnel lab;

    @AfterEach
    void close() throws Exception {
        if (lab != null) lab.close();
    }

    /** A tunnel whose share runs {@code ending} on each stream once it read the stream's FIN. */
    private void tunnel(Consumer<QuicStreamChannel> ending) throws Exception {
        shareTracking(ch -> ch.pipeline().addLast(new AnswerAtEnd(ending)));
    }

    /**
     * A tunnel whose share tracks each stream connect opens, then hands it to {@code streams};
     * connect takes the share's control streams (the end records among them).
     */
    private void shareTracking(Consumer<QuicStreamChannel> streams) throws Exception {
        lab =
                new LoopbackTunnel(
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                StreamAborts.track(ch);
                                streams.accept(ch);
                            }
                        },
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                ch.pipeline().addLast(new StreamAborts.NoticeOnly());
                            }
                        },
                        shareGate,
                        connectGate);
    }

    /** The share's side of a stream: reads and drops all it gets, calling {@link #got} on each. */
    private static class Draining extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ((ByteBuf) msg).release();
            got();
            ctx.read();
        }

        void got() {}
    }

    /** Reads to the FIN; then, with connect's acknowledgements cut, runs its ending. */
    private final class AnswerAtEnd extends Draining {
        private final Consumer<QuicStreamChannel> ending;

        AnswerAtEnd(Consumer<QuicStreamChannel> ending) {
            this.ending = ending;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                connectGate.mode = UdpGate.Mode.OUTGOING; // its acknowledgements are late
                ending.accept((QuicStreamChannel) ctx.channel());
            }
        }
    }

    /**
     * Cuts the share's packets, runs {@code end} (it sends this side's end, now lost), and lets
     * everything through again 100 ms later: connect then acknowledges the answer's bytes.
     */
    private void lose(QuicStreamChannel s, Runnable end) {
        s.eventLoop()
                .schedule(
                        () -> {
                            shareGate.mode = UdpGate.Mode.OUTGOING;
                            end.run();
                            s.eventLoop()
                                    .schedule(
                                            () -> {
                                                shareGate.mode = UdpGate.Mode.OPEN;
                                                connectGate.mode = UdpGate.Mode.OPEN;
                                            },
                                            100,
                                            TimeUnit.MILLISECONDS);
                        },
                        5,
                        TimeUnit.MILLISECONDS);
    }

    /** connect's side: counts what it reads, and how its stream ended. */
    private static final class Reader extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Object> end = new CompletableFuture<>();
        volatile long read;
        QuicStreamChannel stream;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            read += b.readableBytes();
            b.release();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) end.complete(read);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            end.complete(cause);
        }
    }

    /** Opens a tracked stream from connect, sends a request and its FIN. */
    private Reader ask() throws Exception {
        Reader reader = new Reader();
        QuicStreamChannel s = stream(reader);
        s.eventLoop().submit(() -> StreamAborts.track(s)).sync();
        reader.stream = s;
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}))
                .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT);
        return reader;
    }

    @Test
    void aFinLostAfterTheAnswerStillEndsTheStream() throws Exception {
        tunnel(
                s ->
                        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER]))
                                .addListener(
                                        f ->
                                                lose(
                                                        s,
                                                        () ->
                                                                s.shutdownOutput()
                                                                        .addListener(
                                                                                x -> s.close()))));
        Reader r = ask();
        assertEquals(
                (long) ANSWER,
                r.end.get(10, TimeUnit.SECONDS),
                "connect read the whole answer, then its end");
        assertTrue(shareGate.droppedOut.get() > 0, "the share's FIN was lost");
    }

    /** The share's side: opens a stream of end records and writes {@code records} on it. */
    private void records(ByteBuf... records) throws Exception {
        QuicStreamChannel s =
                lab.shareSide
                        .get(10, TimeUnit.SECONDS)
                        .newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .handler(new ChannelInboundHandlerAdapter())
                        .create()
                        .get(10, TimeUnit.SECONDS);
        s.write(Unpooled.wrappedBuffer(new byte[] {StreamPreamble.STREAM_ENDS}));
        for (ByteBuf r : records) s.write(r);
        s.flush().newSucceededFuture().sync();
    }

    @Test
    void aResetRecordFailsTheStreamItNamesWithItsCode() throws Exception {
        tunnel(s -> {}); // the share never ends it: the record alone does
        Reader r = ask();
        records(StreamEnds.record(StreamEnds.RESET, r.stream.streamId(), 7));
        Object end = r.end.get(10, TimeUnit.SECONDS);
        assertTrue(
                end instanceof QuicStreamResetException e && e.applicationProtocolCode() == 7,
                "connect's stream was reset with the record's code: " + end);
    }

    @Test
    void aFinRecordEndsTheStreamOnlyOnceItsBytesAreRead() throws Exception {
        CompletableFuture<QuicStreamChannel> shareStream = new CompletableFuture<>();
        tunnel(shareStream::complete); // the share answers later, and never sends its FIN
        Reader r = ask();
        QuicStreamChannel s = shareStream.get(10, TimeUnit.SECONDS);
        connectGate.mode = UdpGate.Mode.OPEN;
        // with a record for a stream never opened, and one of an unknown kind: they change nothing
        records(
                StreamEnds.record(StreamEnds.FIN, r.stream.streamId(), ANSWER),
                StreamEnds.record(StreamEnds.FIN, 1_000_001, 0),
                StreamEnds.record((byte) 9, r.stream.streamId(), 0));
        Thread.sleep(200);
        assertFalse(r.end.isDone(), "no end before the bytes the record counts: " + r.end);
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER / 2])).sync();
        Thread.sleep(200);
        assertFalse(r.end.isDone(), "no end before all of them: " + r.end);
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[ANSWER / 2])).sync();
        assertEquals((long) ANSWER, r.end.get(10, TimeUnit.SECONDS), "the end, after them all");
    }

    /**
     * quiche's other lost FIN: one written alone while an earlier range of its stream is about to
     * be sent again never leaves. The share's first answer bytes are lost, its later ones arrive
     * with a byte on a second stream, which connect echoes at once: the echo brings the share
     * connect's acknowledgement, by which QUIC counts the first bytes lost, and on its arrival the
     * share ends the answer (a FIN with no bytes, as the splice writes it). quiche then resends the
     * lost range, which ends short of the final size, and drops the stream from those it sends, its
     * FIN unsent. Without the FIN's record at the FIN (records only at the close, which a half-open
     * stream never reaches), connect never sees the end.
     */
    @Test
    void aFinWrittenWhileEarlierBytesAwaitTheirResendStillArrives() throws Exception {
        CompletableFuture<QuicStreamChannel> answer = new CompletableFuture<>();
        CompletableFuture<QuicStreamChannel> ping = new CompletableFuture<>();
        shareTracking(
                ch -> {
                    if (!answer.complete(ch)) {
                        ping.complete(ch);
                        ch.pipeline().addLast(new EndOnSecondPing(answer));
                    }
                });
        Reader r = new Reader();
        QuicStreamChannel asked = stream(r);
        asked.eventLoop().submit(() -> StreamAborts.track(asked)).sync();
        asked.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).sync();
        QuicStreamChannel echo =
                stream(
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ctx.writeAndFlush(msg); // at once: with this packet's ACK
                            }
                        });
        echo.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).sync();
        QuicStreamChannel a = answer.get(10, TimeUnit.SECONDS);
        QuicStreamChannel p = ping.get(10, TimeUnit.SECONDS);
        a.eventLoop()
                .submit(
                        () -> {
                            shareGate.mode = UdpGate.Mode.OUTGOING;
                            a.writeAndFlush(Unpooled.wrappedBuffer(new byte[LOST]));
                            shareGate.mode = UdpGate.Mode.OPEN;
                            a.writeAndFlush(Unpooled.wrappedBuffer(new byte[ARRIVES]));
                            p.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {2}));
                        })
                .sync();
        assertEquals(
                (long) LOST + ARRIVES,
                r.end.get(10, TimeUnit.SECONDS),
                "connect read the whole answer, then its end");
        assertTrue(shareGate.droppedOut.get() > 0, "the answer's first bytes were lost");
    }

    // One datagram lost, then four that arrive: QUIC counts it lost by their acknowledgement.
    static final int LOST = 1_000;
    static final int ARRIVES = 4_000;

    private QuicStreamChannel stream(io.netty.channel.ChannelHandler handler) throws Exception {
        return lab.tunnel
                .newStreamBootstrap()
                .type(QuicStreamType.BIDIRECTIONAL)
                .option(ChannelOption.AUTO_READ, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .handler(handler)
                .create()
                .get(10, TimeUnit.SECONDS);
    }

    /** The share's second stream: the echo of its second byte ends the answer, with a FIN alone. */
    private static final class EndOnSecondPing extends Draining {
        private final CompletableFuture<QuicStreamChannel> answer;
        private int reads;

        EndOnSecondPing(CompletableFuture<QuicStreamChannel> answer) {
            this.answer = answer;
        }

        @Override
        void got() {
            // the first is connect's own byte; the second the echo of ours
            if (++reads == 2) {
                answer.join().writeAndFlush(QuicStreamFrame.EMPTY_FIN);
            }
        }
    }
}
