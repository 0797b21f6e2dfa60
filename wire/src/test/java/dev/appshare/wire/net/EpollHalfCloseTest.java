package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A half-closed TCP connection on the epoll transport keeps sending: the client has finished
 * sending (FIN), the server then writes more than the socket buffers hold, so its channel must ask
 * epoll for EPOLLOUT after its interest set went empty. On netty 4.2.18's epoll handler without
 * {@link EpollKeepRegistered} that write fails with {@code epoll_ctl ENOENT} and the connection
 * ends short (the case of every tunnelled stream whose client sent its request and closed its
 * side).
 */
class EpollHalfCloseTest {
    static final int SIZE = 16 << 20;

    EventLoopGroup group;
    Channel server;
    final CompletableFuture<ChannelFuture> write = new CompletableFuture<>();
    final byte[] payload = new byte[SIZE];

    @BeforeEach
    void start() throws Exception {
        assertTrue(EventLoops.epoll(), "this test is about the epoll transport (Linux)");
        new Random(7).nextBytes(payload);
        group = EventLoops.newGroup(1);
        server =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .childHandler(
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void userEventTriggered(
                                            ChannelHandlerContext ctx, Object evt) {
                                        if (evt instanceof ChannelInputShutdownEvent) {
                                            // The first half waits for EPOLLOUT while the
                                            // client does not read; once it is out, the
                                            // channel's interest set is empty (input shut, no
                                            // write pending). The second half then has to ask
                                            // for EPOLLOUT again.
                                            ctx.writeAndFlush(
                                                            Unpooled.wrappedBuffer(
                                                                    payload, 0, SIZE / 2))
                                                    .addListener(
                                                            first ->
                                                                    ctx.executor()
                                                                            .schedule(
                                                                                    () ->
                                                                                            writeSecondHalf(
                                                                                                    ctx),
                                                                                    100,
                                                                                    TimeUnit
                                                                                            .MILLISECONDS));
                                        }
                                    }
                                })
                        .bind(new InetSocketAddress("127.0.0.1", 0))
                        .sync()
                        .channel();
    }

    void writeSecondHalf(ChannelHandlerContext ctx) {
        write.complete(ctx.writeAndFlush(Unpooled.wrappedBuffer(payload, SIZE / 2, SIZE / 2)));
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    @Test
    void aHalfClosedConnectionStillSendsEverything() throws Exception {
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        try (Socket client = new Socket("127.0.0.1", port)) {
            client.setSoTimeout(10_000);
            client.setReceiveBufferSize(64 << 10);
            client.shutdownOutput();
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            InputStream in = client.getInputStream();
            byte[] chunk = new byte[64 << 10];
            boolean paused = false;
            while (received.size() < SIZE) {
                if (!paused && received.size() >= SIZE / 2) {
                    // Not reading for a moment lets the server's socket buffer fill, so the
                    // second half has to wait for EPOLLOUT.
                    write.get(10, TimeUnit.SECONDS);
                    Thread.sleep(300);
                    paused = true;
                }
                int n =
                        in.read(
                                chunk,
                                0,
                                Math.min(chunk.length, SIZE / 2 - received.size() % (SIZE / 2)));
                if (n < 0) {
                    break;
                }
                received.write(chunk, 0, n);
            }
            ChannelFuture sent = write.get(10, TimeUnit.SECONDS);
            assertTrue(sent.await(10, TimeUnit.SECONDS), "the write completed");
            assertTrue(sent.isSuccess(), () -> "the write failed: " + sent.cause());
            assertEquals(SIZE, received.size(), "bytes received");
            assertArrayEquals(
                    MessageDigest.getInstance("SHA-256").digest(payload),
                    MessageDigest.getInstance("SHA-256").digest(received.toByteArray()));
        }
    }
}
