package dev.appshare.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** A few bytes in a large read buffer count as the buffer against the write high-water mark. */
class BufferMemoryEstimatorTest {
    private static final int HIGH = 64 << 10;

    /** Queues small reads, each in a MAX_READ buffer; returns how many fit before unwritable. */
    private static int smallReadsQueuedUntilUnwritable(MessageSizeEstimator estimator) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setOption(ChannelOption.MESSAGE_SIZE_ESTIMATOR, estimator);
        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(HIGH / 2, HIGH));
        // One array behind every buffer: each has a read buffer's capacity, none allocates it.
        byte[] memory = new byte[RelayServer.MAX_READ];
        int queued = 0;
        try {
            while (ch.isWritable() && queued < 10_000) {
                ByteBuf read = Unpooled.wrappedBuffer(memory).writerIndex(100);
                ch.write(read); // not flushed: a peer that does not read
                queued++;
            }
            return queued;
        } finally {
            ch.close();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void aStalledDirectionHoldsAtMostTheMarkPlusOneRead() {
        // The first read's buffer alone is past the mark: nothing more is read until it drains.
        assertEquals(1, smallReadsQueuedUntilUnwritable(BufferMemoryEstimator.INSTANCE));
    }

    @Test
    void countedByReadableBytesHundredsOfBuffersWouldQueue() {
        // netty's default counts 100 bytes (+ 96 of overhead) each: ~330 full-size read buffers
        // would fit under a 64 KiB mark.
        int queued = smallReadsQueuedUntilUnwritable(DefaultMessageSizeEstimator.DEFAULT);
        assertTrue(queued > 300, "queued " + queued);
    }

    @Test
    void fullReadsCountTheSameEitherWay() {
        ByteBuf full = Unpooled.buffer(4096).writeBytes(new byte[4096]);
        try {
            assertEquals(
                    DefaultMessageSizeEstimator.DEFAULT.newHandle().size(full),
                    BufferMemoryEstimator.INSTANCE.newHandle().size(full));
            Object other = new Object();
            assertEquals(
                    DefaultMessageSizeEstimator.DEFAULT.newHandle().size(other),
                    BufferMemoryEstimator.INSTANCE.newHandle().size(other));
        } finally {
            full.release();
        }
    }
}
