package dev.appshare.gateway;

import dev.appshare.wire.net.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A browser's WebSocket to a public URL, with netty's client handshake: it connects to the
 * gateway's address and names {@code LABEL.localhost:PORT} in Host and the URL (no DNS needed,
 * which the JDK's WebSocket would want for a {@code *.localhost} name).
 */
final class WsClient implements AutoCloseable {
    private final Channel channel;
    private final BlockingQueue<Object> received;
    private final Promise<Integer> closed;

    private WsClient(Channel channel, BlockingQueue<Object> received, Promise<Integer> closed) {
        this.channel = channel;
        this.received = received;
        this.closed = closed;
    }

    static WsClient open(EventLoopGroup group, InetSocketAddress gateway, String host)
            throws Exception {
        BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        Promise<Void> handshake = group.next().newPromise();
        Promise<Integer> closed = group.next().newPromise();
        URI uri = new URI("ws://" + host + "/ws");
        Channel ch =
                new Bootstrap()
                        .group(group)
                        .channel(EventLoops.socket())
                        .handler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        ch.pipeline()
                                                .addLast(new HttpClientCodec())
                                                .addLast(new HttpObjectAggregator(1 << 16))
                                                .addLast(
                                                        new WebSocketClientProtocolHandler(
                                                                WebSocketClientProtocolConfig
                                                                        .newBuilder()
                                                                        .webSocketUri(uri)
                                                                        .maxFramePayloadLength(
                                                                                4 << 20)
                                                                        .handleCloseFrames(false)
                                                                        .build()))
                                                .addLast(new WebSocketFrameAggregator(4 << 20))
                                                .addLast(
                                                        new Collector(received, handshake, closed));
                                    }
                                })
                        .connect(gateway)
                        .sync()
                        .channel();
        if (!handshake.await(20, TimeUnit.SECONDS) || !handshake.isSuccess()) {
            ch.close();
            throw new AssertionError("no WebSocket handshake", handshake.cause());
        }
        return new WsClient(ch, received, closed);
    }

    void sendText(String s) {
        channel.writeAndFlush(new TextWebSocketFrame(s));
    }

    void sendBinary(byte[] b) {
        channel.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(b)));
    }

    String nextText() throws InterruptedException {
        return (String) next();
    }

    byte[] nextBinary() throws InterruptedException {
        return (byte[]) next();
    }

    private Object next() throws InterruptedException {
        Object o = received.poll(30, TimeUnit.SECONDS);
        if (o == null) throw new AssertionError("no WebSocket message within 30 s");
        return o;
    }

    /** Sends a close frame; the status code of the close frame that answers it. */
    int closeAndAwait() throws Exception {
        channel.writeAndFlush(new CloseWebSocketFrame(1000, "bye"));
        return closed.get(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    private static final class Collector extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> received;
        private final Promise<Void> handshake;
        private final Promise<Integer> closed;

        Collector(
                BlockingQueue<Object> received, Promise<Void> handshake, Promise<Integer> closed) {
            this.received = received;
            this.handshake = handshake;
            this.closed = closed;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE)
                handshake.trySuccess(null);
            else if (evt
                    == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT)
                handshake.tryFailure(new AssertionError("handshake timed out"));
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof TextWebSocketFrame t) received.add(t.text());
                else if (msg instanceof BinaryWebSocketFrame b)
                    received.add(ByteBufUtil.getBytes(b.content()));
                else if (msg instanceof CloseWebSocketFrame c) closed.trySuccess(c.statusCode());
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            handshake.tryFailure(new AssertionError("the connection closed"));
            closed.tryFailure(new AssertionError("closed without a close frame"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            handshake.tryFailure(cause);
            ctx.close();
        }
    }
}
