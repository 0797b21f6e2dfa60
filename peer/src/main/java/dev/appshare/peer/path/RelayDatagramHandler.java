package dev.appshare.peer.path;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Hands each datagram framed on the relay connection to the path layer. */
final class RelayDatagramHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(RelayDatagramHandler.class);
    private final PathSwitch paths;

    RelayDatagramHandler(PathSwitch paths) {
        this.paths = paths;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf datagram && datagram.isReadable()) {
            paths.fromRelay(datagram);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        paths.relayReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("relay path failed: {}", cause.toString());
        ctx.close();
    }
}
