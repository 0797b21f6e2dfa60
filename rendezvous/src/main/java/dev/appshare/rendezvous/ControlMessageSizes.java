package dev.appshare.rendezvous;

import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;

/**
 * Counts a {@link RendezvousMessage} as the bytes it will take on the wire (u16 length and UTF-8
 * line). netty counts a write handed over from another event loop (a SIGNAL forwarded to a peer on
 * another loop) against the channel's write buffer when it is queued, but as 8 bytes for a type it
 * does not know: the control connections' write bound would then not see what waits in the task
 * queue.
 */
final class ControlMessageSizes implements MessageSizeEstimator {
    static final ControlMessageSizes INSTANCE = new ControlMessageSizes();

    private static final Handle OTHER = DefaultMessageSizeEstimator.DEFAULT.newHandle();
    private static final Handle HANDLE =
            msg ->
                    msg instanceof RendezvousMessage m
                            ? 2 + ByteBufUtil.utf8Bytes(m.encode())
                            : OTHER.size(msg);

    @Override
    public Handle newHandle() {
        return HANDLE;
    }
}
