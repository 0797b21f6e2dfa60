package dev.appshare.wire.fuzz;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The last handler of a fuzzed pipeline, standing in for the protocol handler that would follow the
 * parser: keeps the first error that reached it and closes the connection, as every one of our
 * handlers does on a protocol error (and so no later error piles up behind it).
 */
public final class FirstFailure extends ChannelInboundHandlerAdapter {
    private Throwable first;

    /** The first error that reached the end of the pipeline, or null. */
    public Throwable first() {
        return first;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (first == null) first = cause;
        ctx.close();
    }
}
