package dev.appshare.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes one side of a spliced pair once no byte has been read from it or written to it for the
 * idle period (netty's all-idle); its splice then closes the partner, whose own handler would close
 * it anyway. Traffic in either direction keeps both sides open: the sender's side reads it and the
 * receiver's side writes it. A write that makes progress counts even while it is still queued
 * (observeOutput), so a slow reader is not mistaken for an idle one.
 */
final class SpliceIdleHandler extends IdleStateHandler {
    private static final Logger log = LoggerFactory.getLogger(SpliceIdleHandler.class);

    SpliceIdleHandler(long idleMillis) {
        super(true, 0, 0, idleMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void channelIdle(ChannelHandlerContext ctx, IdleStateEvent evt) {
        log.debug("relay splice {} idle: closing", ctx.channel().remoteAddress());
        ctx.close();
    }
}
