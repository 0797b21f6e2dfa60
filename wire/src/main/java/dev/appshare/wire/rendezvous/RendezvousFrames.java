package dev.appshare.wire.rendezvous;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToMessageCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The control connection's framing: each message is {@code u16 length (big-endian) | UTF-8 line},
 * at most {@value #MAX_FRAME} bytes. A longer frame is a protocol error and closes the connection
 * before its body is buffered.
 */
public final class RendezvousFrames extends MessageToMessageCodec<ByteBuf, RendezvousMessage> {
    public static final int MAX_FRAME = 8192;

    /** Adds the frame decoder, the length prepender and this codec to a pipeline. */
    public static void install(ChannelPipeline p) {
        p.addLast(
                "frame-decoder", new LengthFieldBasedFrameDecoder(MAX_FRAME + 2, 0, 2, 0, 2, true));
        p.addLast("frame-encoder", new LengthFieldPrepender(2));
        p.addLast("control-codec", new RendezvousFrames());
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, RendezvousMessage msg, List<Object> out) {
        byte[] body = msg.encode().getBytes(StandardCharsets.UTF_8);
        if (body.length > MAX_FRAME)
            throw new IllegalArgumentException("control message too long: " + msg.type());
        out.add(ctx.alloc().buffer(body.length).writeBytes(body));
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out)
            throws ProtocolException {
        if (frame.readableBytes() > MAX_FRAME) throw new ProtocolException("frame too long");
        if (!ByteBufUtil.isText(frame, StandardCharsets.UTF_8))
            throw new ProtocolException("frame is not UTF-8");
        out.add(RendezvousMessage.decode(frame.toString(StandardCharsets.UTF_8)));
    }
}
