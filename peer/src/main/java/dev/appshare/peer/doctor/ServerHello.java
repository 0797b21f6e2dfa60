package dev.appshare.peer.doctor;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code appshare doctor}'s one question on the control port: {@code HELLO v=2}, answered by {@code
 * WELCOME v=2 relay=R stun=PORT alt=PORT} (docs/protocol.md §1).
 */
final class ServerHello {
    /**
     * What the server said: its protocol version, where its relay is, and its second STUN port (-1
     * if it named none). (Not how long it took: that includes netty's and the codec's first use in
     * this process; see {@link Findings#rendezvousRttMillis}.)
     */
    record Welcome(String version, String relay, int altPort) {}

    private ServerHello() {}

    /**
     * Asks {@code server}; throws with the reason in words when it cannot be reached, does not
     * answer within {@code timeoutMillis}, or answers something else.
     */
    static Welcome ask(EventLoopGroup group, InetSocketAddress server, long timeoutMillis)
            throws Exception {
        CompletableFuture<RendezvousMessage> answer = new CompletableFuture<>();
        ChannelFuture connected =
                new Bootstrap()
                        .group(group)
                        .channel(EventLoops.socket())
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeoutMillis)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        RendezvousFrames.install(ch.pipeline());
                                        ch.pipeline().addLast(new Answer(answer));
                                    }
                                })
                        .connect(server);
        if (!connected.await(timeoutMillis + 500, TimeUnit.MILLISECONDS))
            throw new TimeoutException("no TCP connection within " + timeoutMillis + " ms");
        if (!connected.isSuccess()) throw new Exception(reason(connected.cause()));
        Channel ch = connected.channel();
        try {
            ch.writeAndFlush(
                    RendezvousMessage.of(
                            RendezvousProtocol.HELLO, "v", RendezvousProtocol.VERSION));
            RendezvousMessage m;
            try {
                m = answer.get(timeoutMillis, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new TimeoutException(
                        "connected, but no answer to HELLO within " + timeoutMillis + " ms");
            } catch (ExecutionException e) {
                throw new Exception(e.getCause().getMessage(), e.getCause());
            }
            if (m.type().equals(RendezvousProtocol.ERROR))
                throw new Exception(
                        "the server refused: "
                                + m.get("code")
                                + " "
                                + m.get("message")
                                + " (an older appshare server?)");
            if (!m.type().equals(RendezvousProtocol.WELCOME))
                throw new Exception("the server answered " + m.type() + ", not WELCOME");
            return new Welcome(m.require("v"), m.require("relay"), port(m.get("alt")));
        } finally {
            ch.close();
        }
    }

    private static int port(String s) {
        try {
            int p = Integer.parseInt(s);
            return p > 0 && p <= 65535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A connect failure in words ("connection refused"), not a class name or an errno. */
    static String reason(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getMessage() == null) c = c.getCause();
        String m = String.valueOf(c.getMessage());
        // NIO says "Connection refused: /127.0.0.1:7000"; epoll "finishConnect(..) failed with
        // error(-111)": the errno, ECONNREFUSED
        if (m.contains("efused") || m.contains("(-111)")) return "connection refused";
        if (m.contains("(-113)") || m.contains("No route")) return "no route to host";
        if (m.contains("(-101)") || m.contains("unreachable")) return "network unreachable";
        if (c instanceof io.netty.channel.ConnectTimeoutException
                || c instanceof java.net.SocketTimeoutException
                || m.contains("timed out")) return "no answer to the TCP connect (timed out)";
        return c.getMessage() == null ? c.getClass().getSimpleName() : m;
    }

    /** Completes the future with the first message, or with the reason the connection ended. */
    private static final class Answer extends SimpleChannelInboundHandler<RendezvousMessage> {
        private final CompletableFuture<RendezvousMessage> answer;

        Answer(CompletableFuture<RendezvousMessage> answer) {
            this.answer = answer;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, RendezvousMessage m) {
            answer.complete(m);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            answer.completeExceptionally(new Exception("the server closed without an answer"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            answer.completeExceptionally(new Exception("unreadable answer: " + cause));
            ctx.close();
        }
    }
}
