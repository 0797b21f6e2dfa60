package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.tunnel.StreamAborts;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The sending half of the abort notice, between the tunnel's real QUIC codecs on loopback: a stream
 * aborted after its FIN is announced on a stream of its own. The receiving half is in
 * SharerSessionTest.
 */
class AbortNoticeTest {
    /** Each stream the server saw, whole (up to its FIN). */
    private final BlockingQueue<byte[]> streams = new LinkedBlockingQueue<>();

    private LoopbackTunnel lab;
    private QuicChannel tunnel;
    private CompletableFuture<QuicChannel> serverSide;

    @BeforeEach
    void connect() throws Exception {
        lab =
                new LoopbackTunnel(
                        new ChannelInitializer<QuicStreamChannel>() {
                            @Override
                            protected void initChannel(QuicStreamChannel ch) {
                                ch.pipeline().addLast(new WholeStream());
                            }
                        });
        tunnel = lab.tunnel;
        serverSide = lab.shareSide;
    }

    @AfterEach
    void close() throws Exception {
        if (lab != null) lab.close();
    }

    /** Reads a stream to its FIN, then hands over what it carried. */
    private final class WholeStream extends ChannelInboundHandlerAdapter {
        private final ByteBuf got = Unpooled.buffer();

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.read();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            got.writeBytes(b);
            b.release();
            ctx.read();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                streams.add(ByteBufUtil.getBytes(got));
                got.release();
            }
        }
    }

    private QuicStreamChannel openAndSend(byte first) throws Exception {
        QuicStreamChannel s =
                tunnel.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .option(ChannelOption.AUTO_READ, false)
                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .handler(new ChannelInboundHandlerAdapter())
                        .create()
                        .get(10, TimeUnit.SECONDS);
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {first})).sync();
        return s;
    }

    private static void abort(QuicStreamChannel s) throws Exception {
        s.eventLoop().submit(() -> SpliceHandler.abort(s)).sync();
    }

    @Test
    void aStreamAbortedAfterItsFinIsAnnouncedOnAStreamOfItsOwn() throws Exception {
        QuicStreamChannel s = openAndSend(StreamPreamble.OPEN_TCP);
        s.shutdownOutput().sync();
        assertArrayEquals(
                new byte[] {StreamPreamble.OPEN_TCP},
                streams.poll(10, TimeUnit.SECONDS),
                "the server read the stream to its FIN");
        abort(s);
        byte[] notice = streams.poll(10, TimeUnit.SECONDS);
        assertNotNull(notice, "an abort notice arrived");
        assertArrayEquals(StreamPreamble.encodeAbort(s.streamId()), notice);
    }

    @Test
    void aNoticeFromTheOtherSideFailsTheStreamItNames() throws Exception {
        CompletableFuture<Throwable> failed = new CompletableFuture<>();
        QuicStreamChannel s =
                tunnel.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .option(ChannelOption.AUTO_READ, false)
                        .handler(
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void exceptionCaught(
                                            ChannelHandlerContext ctx, Throwable cause) {
                                        failed.complete(cause);
                                    }
                                })
                        .create()
                        .get(10, TimeUnit.SECONDS);
        s.eventLoop().submit(() -> StreamAborts.track(s)).sync();
        s.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {StreamPreamble.OPEN_TCP})).sync();
        QuicChannel other = serverSide.get(10, TimeUnit.SECONDS);
        QuicStreamChannel notice =
                other.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .handler(new ChannelInboundHandlerAdapter())
                        .create()
                        .get(10, TimeUnit.SECONDS);
        notice.writeAndFlush(Unpooled.wrappedBuffer(StreamPreamble.encodeAbort(s.streamId())))
                .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT);
        Throwable cause = failed.get(10, TimeUnit.SECONDS);
        assertTrue(cause instanceof StreamAborts.AbortedByPeerException, cause.toString());
        assertTrue(notice.closeFuture().await(10, TimeUnit.SECONDS), "the notice stream ended");
    }
}
