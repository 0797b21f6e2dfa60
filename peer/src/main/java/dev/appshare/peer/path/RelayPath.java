package dev.appshare.peer.path;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.relay.RelayDatagrams;
import dev.appshare.wire.relay.RelayProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * The relay path: a TCP connection to the fallback relay, paired with the other peer's by a
 * one-time token. After the relay's "OK" it carries datagrams, framed as {@link RelayDatagrams}
 * says. The connection is bound to the UDP channel's event loop.
 */
public final class RelayPath {
    // Bound the relay's send queue: past the high mark, PathSwitch drops datagrams and QUIC backs
    // off.
    private static final WriteBufferWaterMark WATER_MARK =
            new WriteBufferWaterMark(512 << 10, 1 << 20);

    /** Why the relay would not pair us. */
    public static final class RelayRefusedException extends Exception {
        public RelayRefusedException(String message) {
            super(message);
        }
    }

    private RelayPath() {}

    /**
     * Dials the relay, presents the token and waits for the partner. The returned future completes
     * with the spliced channel, already delivering datagrams to {@code paths}, or fails. Cancelling
     * it closes the connection, whether it is still connecting or waiting for its partner.
     */
    public static Future<Channel> dial(
            EventLoop loop,
            InetSocketAddress relay,
            String token,
            long timeoutMillis,
            PathSwitch paths) {
        Promise<Channel> paired = loop.newPromise();
        Bootstrap b =
                new Bootstrap()
                        .group(loop)
                        .channel(EventLoops.socket())
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeoutMillis)
                        .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                        .handler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        ch.pipeline()
                                                .addLast(
                                                        "line",
                                                        new LineBasedFrameDecoder(
                                                                RelayProtocol.MAX_LINE));
                                        ch.pipeline()
                                                .addLast(
                                                        "pairing", new PairingReply(paired, paths));
                                    }
                                });
        ChannelFuture connecting = b.connect(relay);
        paired.addListener(
                p -> {
                    if (p.isCancelled()) connecting.channel().close();
                });
        connecting.addListener(
                (ChannelFutureListener)
                        f -> {
                            if (!f.isSuccess()) {
                                paired.tryFailure(f.cause());
                                return;
                            }
                            f.channel()
                                    .writeAndFlush(
                                            Unpooled.copiedBuffer(
                                                    RelayProtocol.HELLO + token + "\n",
                                                    StandardCharsets.US_ASCII));
                            var timeout =
                                    loop.schedule(
                                            () -> {
                                                if (paired.tryFailure(
                                                        new RelayRefusedException(
                                                                "no partner within "
                                                                        + timeoutMillis
                                                                        + " ms"))) {
                                                    f.channel().close();
                                                }
                                            },
                                            timeoutMillis,
                                            TimeUnit.MILLISECONDS);
                            paired.addListener(p -> timeout.cancel(false));
                            f.channel()
                                    .closeFuture()
                                    .addListener(
                                            c ->
                                                    paired.tryFailure(
                                                            new RelayRefusedException(
                                                                    "the relay closed the"
                                                                            + " connection")));
                        });
        return paired;
    }

    /** Waits for the relay's one-line answer, then turns the connection into a datagram carrier. */
    private static final class PairingReply extends SimpleChannelInboundHandler<ByteBuf> {
        private final Promise<Channel> paired;
        private final PathSwitch paths;

        PairingReply(Promise<Channel> paired, PathSwitch paths) {
            this.paired = paired;
            this.paths = paths;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf line) {
            String reply = line.toString(StandardCharsets.US_ASCII);
            if (!reply.equals(RelayProtocol.OK)) {
                String reason =
                        reply.startsWith(RelayProtocol.ERR)
                                ? NetworkText.printable(reply.substring(RelayProtocol.ERR.length()))
                                : "bad reply";
                paired.tryFailure(
                        new RelayRefusedException("the relay refused pairing: " + reason));
                ctx.close();
                return;
            }
            // Datagram framing goes in after the line decoder, so bytes that came with "OK" reach
            // it.
            ctx.pipeline().addAfter("line", "datagram-decoder", RelayDatagrams.newDecoder());
            ctx.pipeline()
                    .addAfter("datagram-decoder", "datagram-encoder", RelayDatagrams.newEncoder());
            ctx.pipeline()
                    .addAfter("datagram-encoder", "datagrams", new RelayDatagramHandler(paths));
            ctx.pipeline().remove(this);
            if (!paired.trySuccess(ctx.channel())) {
                ctx.close();
                return;
            }
            ctx.pipeline().remove("line");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            paired.tryFailure(cause);
            ctx.close();
        }
    }
}
