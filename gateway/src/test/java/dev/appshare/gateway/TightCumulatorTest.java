package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The visitor's TLS handler's gathering of reads: what it holds is sized to what is unread, never
 * to what a buffer once grew to (netty's default kept a 4 MiB buffer for a few KiB left over: an
 * upload's TLS handler held 2-4 MiB for the connection's life), with netty's reference counting.
 */
class TightCumulatorTest {
    private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);

    @Test
    void aLeftoverAndANewReadGetABufferOfTheirSize() {
        byte[] data = new byte[1_000_100];
        new Random(1).nextBytes(data);
        ByteBuf cumulation = alloc.buffer(4 << 20).writeBytes(data);
        cumulation.skipBytes(1_000_000); // 100 bytes left over, of a record cut short
        byte[] read = new byte[65_536];
        new Random(2).nextBytes(read);
        ByteBuf in = Unpooled.wrappedBuffer(read);
        ByteBuf out = TightCumulator.INSTANCE.cumulate(alloc, cumulation, in);
        assertEquals(100 + 65_536, out.readableBytes());
        assertTrue(out.capacity() < 2 * out.readableBytes(), "capacity " + out.capacity());
        byte[] want = new byte[100 + 65_536];
        System.arraycopy(data, 1_000_000, want, 0, 100);
        System.arraycopy(read, 0, want, 100, read.length);
        assertArrayEquals(want, ByteBufUtil.getBytes(out));
        assertEquals(0, cumulation.refCnt(), "the old buffer is freed");
        assertEquals(0, in.refCnt(), "the read is freed");
        out.release();

        // netty's default, for contrast: the 4 MiB buffer stays.
        ByteBuf c2 = alloc.buffer(4 << 20).writeBytes(data);
        c2.skipBytes(1_000_000);
        ByteBuf o2 =
                ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(
                        alloc, c2, Unpooled.wrappedBuffer(read));
        assertTrue(o2.capacity() >= 4 << 20, "capacity " + o2.capacity());
        o2.release();
    }

    @Test
    void nothingLeftOverHandsOnTheReadItself() {
        ByteBuf cumulation = alloc.buffer(4 << 20).writeBytes(new byte[10]);
        cumulation.skipBytes(10);
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});
        ByteBuf out = TightCumulator.INSTANCE.cumulate(alloc, cumulation, in);
        assertSame(in, out);
        assertEquals(0, cumulation.refCnt());
        assertEquals(1, out.refCnt());
        out.release();
    }
}
