package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The splice between two real TCP connections on loopback (the relay's case): a reset on one side
 * resets the other. An embedded channel cannot show this: the RST is SO_LINGER 0 on a real socket.
 */
class SpliceResetTest {
    EventLoopGroup group;
    Channel server;
    final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        server =
                new ServerBootstrap()
                        .group(group)
                        .channel(EventLoops.serverSocket())
                        .childOption(ChannelOption.AUTO_READ, false)
                        .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .childHandler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter());
                                        accepted.add(ch);
                                    }
                                })
                        .bind(new InetSocketAddress("127.0.0.1", 0))
                        .sync()
                        .channel();
    }

    @AfterEach
    void stop() throws Exception {
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    Socket dial() throws Exception {
        Socket s = new Socket("127.0.0.1", ((InetSocketAddress) server.localAddress()).getPort());
        s.setSoTimeout(10_000);
        return s;
    }

    @ParameterizedTest(name = "first resets: {0}")
    @ValueSource(booleans = {true, false})
    void aResetOnOneSideResetsTheOther(boolean firstResets) throws Exception {
        try (Socket first = dial();
                Socket second = dial()) {
            Channel a = accepted.poll(10, TimeUnit.SECONDS);
            Channel b = accepted.poll(10, TimeUnit.SECONDS);
            SpliceHandler.join(a, b);
            Socket resetting = firstResets ? first : second;
            Socket other = firstResets ? second : first;
            // The splice is up end to end before the reset.
            resetting.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            assertEquals(
                    "ping",
                    new String(other.getInputStream().readNBytes(4), StandardCharsets.US_ASCII));

            resetting.setSoLinger(true, 0);
            resetting.close();
            SocketException e =
                    assertThrows(
                            SocketException.class,
                            () -> other.getInputStream().read(),
                            "a reset, not an end of stream");
            assertTrue(e.getMessage().contains("reset"), e.getMessage());
        }
    }
}
