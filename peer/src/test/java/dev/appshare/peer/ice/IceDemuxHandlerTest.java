package dev.appshare.peer.ice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** ice4j's way out through the demux: a closed socket fails as a closed socket, holding nothing. */
class IceDemuxHandlerTest {
    private static final InetSocketAddress TO = new InetSocketAddress("127.0.0.1", 9);

    /** A STUN Binding request header: type, length 0, magic cookie, transaction id. */
    private static final byte[] REQUEST = {
        0, 1, 0, 0, 0x21, 0x12, (byte) 0xA4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    };

    /** Remembers every buffer it hands out, so a test can see that each was released. */
    private static final class RecordingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> handedOut = new CopyOnWriteArrayList<>();

        RecordingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity);
            handedOut.add(b);
            return b;
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            ByteBuf b = new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity);
            handedOut.add(b);
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        void assertAllReleased() {
            for (ByteBuf b : handedOut) assertEquals(0, b.refCnt(), "a buffer was not released");
        }
    }

    @Test
    void sendWritesTheDatagramWhileTheChannelIsOpen() throws Exception {
        IceDemuxHandler demux = new IceDemuxHandler();
        EmbeddedChannel ch = new EmbeddedChannel(demux);
        demux.send(null, REQUEST, 0, REQUEST.length, TO);
        ch.runPendingTasks();
        DatagramPacket out = ch.readOutbound();
        assertEquals(TO, out.recipient());
        assertArrayEquals(REQUEST, ByteBufUtil.getBytes(out.content()));
        out.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void sendAfterTheChannelClosedFailsAsAClosedSocket() {
        RecordingAllocator alloc = new RecordingAllocator();
        IceDemuxHandler demux = new IceDemuxHandler();
        EmbeddedChannel ch = new EmbeddedChannel(demux);
        ch.config().setAllocator(alloc);
        ch.close();
        assertThrows(SocketException.class, () -> demux.send(null, REQUEST, 0, REQUEST.length, TO));
        ch.runPendingTasks();
        alloc.assertAllReleased();
    }

    @Test
    void sendAfterTheEventLoopShutDownFailsAsAClosedSocket() throws Exception {
        RecordingAllocator alloc = new RecordingAllocator();
        IceDemuxHandler demux = new IceDemuxHandler();
        EventLoopGroup group = EventLoops.newGroup(1);
        Channel udp =
                new Bootstrap()
                        .group(group)
                        .channel(EventLoops.datagram())
                        .option(ChannelOption.ALLOCATOR, alloc)
                        .handler(demux)
                        .bind(new InetSocketAddress("127.0.0.1", 0))
                        .sync()
                        .channel();
        demux.send(null, REQUEST, 0, REQUEST.length, TO); // works while the loop runs
        assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS));
        // Whether netty closed the channel on its way out is a race of its own (seen both ways):
        // a send must fail as on a closed socket in either case.
        assertThrows(SocketException.class, () -> demux.send(null, REQUEST, 0, REQUEST.length, TO));
        alloc.assertAllReleased();
    }
}
