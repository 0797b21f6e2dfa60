package dev.appshare.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;

/**
 * Counts a queued buffer by the memory it holds (its capacity), not by its unread bytes, so that a
 * channel's write high-water mark bounds memory. A relay read is sized by netty's adaptive guess,
 * which grows to {@link RelayServer#MAX_READ} within two reads of a burst and shrinks only over
 * many small ones: a few bytes can sit in a 256 KiB buffer. Counted by readable bytes, a stalled
 * direction could hold about 0.8 MiB of such buffers under a 64 KiB mark; counted by capacity, it
 * holds at most the mark plus the one read that crossed it.
 */
final class BufferMemoryEstimator implements MessageSizeEstimator {
    static final BufferMemoryEstimator INSTANCE = new BufferMemoryEstimator();

    private static final Handle HANDLE =
            new Handle() {
                private final Handle fallback = DefaultMessageSizeEstimator.DEFAULT.newHandle();

                @Override
                public int size(Object msg) {
                    return msg instanceof ByteBuf buf ? buf.capacity() : fallback.size(msg);
                }
            };

    private BufferMemoryEstimator() {}

    @Override
    public Handle newHandle() {
        return HANDLE;
    }
}
