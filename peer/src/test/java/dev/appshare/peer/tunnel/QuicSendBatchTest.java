package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicChannelOption;
import io.netty.handler.codec.quic.QuicSendBatch;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link QuicSendBatch} against netty's real QUIC codec on loopback: twenty streams of one tunnel
 * each written once in one event-loop turn leave in one or two sends (GSO batches) when the
 * connection is held, and in one send per write when it is not (netty's own behaviour, which this
 * test also pins, so that it notices if netty changes under the batch).
 */
class QuicSendBatchTest {
    private static final int STREAMS = 20;
    private static final int BYTES_EACH = 10;

    static EventLoopGroup group;
    static PeerIdentity serverId;
    static PeerIdentity clientId;

    @BeforeAll
    static void start() {
        group = EventLoops.newGroup(1);
        serverId = PeerIdentity.generate();
        clientId = PeerIdentity.generate();
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A stream handler for every stream of the server. */
    @ChannelHandler.Sharable
    abstract static class Sharable extends ChannelInboundHandlerAdapter {}

    /**
     * Counts the sends the client's socket is asked to make: one per datagram, or one per GSO batch
     * of datagrams (one system call each).
     */
    static final class Sends extends ChannelOutboundHandlerAdapter {
        final AtomicInteger count = new AtomicInteger();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof DatagramPacket) count.incrementAndGet();
            ctx.write(msg, promise);
        }
    }

    @Test
    void writesOfOneLoopTurnShareDatagramsWhenHeld() throws Exception {
        assumeTrue(EventLoops.epoll(), "GSO batches need the epoll transport");
        int held = sendsForOneWriteEach(true);
        int unheld = sendsForOneWriteEach(false);
        // quiche puts one stream's frame in each packet, so the batch is in the sends: GSO hands
        // the socket up to TunnelCodecs.GSO_SEGMENTS datagrams at a time
        assertTrue(held <= 2, "held: " + STREAMS + " small writes took " + held + " sends");
        assertTrue(
                unheld >= STREAMS,
                "not held, netty sends each write at once: " + unheld + " sends");
    }

    /** Opens a tunnel, writes BYTES_EACH to STREAMS streams in one task; datagrams it took. */
    private static int sendsForOneWriteEach(boolean hold) throws Exception {
        AtomicLong received = new AtomicLong();
        ChannelHandler streamHandler =
                new Sharable() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        ctx.read();
                    }

                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof ByteBuf b) received.addAndGet(b.readableBytes());
                        io.netty.util.ReferenceCountUtil.release(msg);
                        ctx.read();
                    }
                };
        Channel server =
                LoopbackUdp.bind(
                        group,
                        TunnelCodecs.server(
                                serverId,
                                clientId.fingerprint(),
                                false,
                                new ChannelInboundHandlerAdapter(),
                                streamHandler));
        Sends count = new Sends();
        Channel client =
                LoopbackUdp.bind(
                        group, TunnelCodecs.client(clientId, serverId.fingerprint(), false));
        client.pipeline().addFirst(count);
        try {
            QuicChannel quic =
                    QuicChannel.newBootstrap(client)
                            .option(
                                    QuicChannelOption.SEGMENTED_DATAGRAM_PACKET_ALLOCATOR,
                                    TunnelCodecs.datagramAllocator())
                            .handler(new ChannelInboundHandlerAdapter())
                            .streamHandler(new ChannelInboundHandlerAdapter())
                            .remoteAddress(server.localAddress())
                            .connect()
                            .get(10, TimeUnit.SECONDS);
            List<QuicStreamChannel> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                streams.add(
                        quic.createStream(
                                        QuicStreamType.BIDIRECTIONAL,
                                        new ChannelInboundHandlerAdapter())
                                .get(5, TimeUnit.SECONDS));
            }
            Thread.sleep(300); // the handshake's last ACKs have gone both ways
            int before = count.count.get();
            quic.eventLoop()
                    .submit(
                            () -> {
                                for (QuicStreamChannel s : streams) {
                                    if (hold) QuicSendBatch.hold(quic);
                                    s.writeAndFlush(Unpooled.wrappedBuffer(new byte[BYTES_EACH]));
                                }
                            })
                    .get(5, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() < (long) STREAMS * BYTES_EACH && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals((long) STREAMS * BYTES_EACH, received.get(), "every write arrived");
            // what the client sent for the writes (the server's ACKs need no answer)
            return quic.eventLoop().submit(() -> count.count.get() - before).get();
        } finally {
            client.close().sync();
            server.close().sync();
        }
    }
}
