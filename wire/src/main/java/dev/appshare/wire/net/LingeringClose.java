package dev.appshare.wire.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection after a last answer (an error line) so that the answer arrives. Closing a TCP
 * socket that still has unread input makes the kernel send a reset instead of a FIN, and a reset
 * makes the other side drop what it had not read yet: the very answer. That happens whenever a
 * client sent more than was read before the refusal (a request line far over the limit). So: send
 * the FIN after the answer, then read and discard until the client closes too, for at most {@link
 * #LINGER_MILLIS}; the connection is closed then in any case, so a client that keeps sending gains
 * nothing but that second.
 */
public final class LingeringClose {
    /** How long a refused client's input is drained before the connection closes regardless. */
    public static final long LINGER_MILLIS = 1_000;

    private LingeringClose() {}

    /** Call once the last answer has been written (flushed) on {@code ch}. */
    public static void close(Channel ch) {
        if (!(ch instanceof DuplexChannel duplex)
                || !ch.isActive()
                || !ch.eventLoop().inEventLoop()) {
            ch.close();
            return;
        }
        ch.pipeline().addFirst("linger", new Discard());
        duplex.shutdownOutput();
        ch.eventLoop().schedule(() -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        ch.config().setAutoRead(true);
        ch.read();
    }

    /** Drops everything read; closes when the client's input ends. */
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {}

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) ctx.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
