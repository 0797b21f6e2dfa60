package dev.appshare.wire.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class StreamPreambleTest {
    @Test
    void aPortRequestRoundTripsAndLeavesTheDataAfterIt() {
        ByteBuf in = Unpooled.buffer().writeBytes(StreamPreamble.encode(65535, false));
        in.writeByte('x');
        StreamPreamble.Request r = StreamPreamble.decode(in);
        assertEquals(new StreamPreamble.Request(StreamPreamble.OPEN_PORT, 65535), r);
        assertFalse(r.takesOnlyPort());
        assertEquals(1, in.readableBytes(), "the client's first byte stays");
        assertTrue(
                new StreamPreamble.Request(StreamPreamble.OPEN_PORT_OR_ONLY, 22).takesOnlyPort());
        in.release();
    }

    @Test
    void aPartialPreambleConsumesNothing() {
        byte[] whole = StreamPreamble.encode(3000, true);
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < whole.length - 1; i++) {
            in.writeByte(whole[i]);
            assertNull(StreamPreamble.decode(in));
            assertEquals(i + 1, in.readableBytes());
        }
        in.writeByte(whole[whole.length - 1]);
        assertEquals(
                new StreamPreamble.Request(StreamPreamble.OPEN_PORT_OR_ONLY, 3000),
                StreamPreamble.decode(in));
        in.release();
    }

    @Test
    void theOnlyPortKindHasNoPortAndOtherKindsAreRefused() {
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {StreamPreamble.OPEN_TCP, 9});
        assertEquals(
                new StreamPreamble.Request(StreamPreamble.OPEN_TCP, 0), StreamPreamble.decode(in));
        assertEquals(1, in.readableBytes());
        assertThrows(
                IllegalArgumentException.class,
                () -> StreamPreamble.decode(Unpooled.wrappedBuffer(new byte[] {0x07, 0, 22})));
        // the signal stream's kind is one byte; its frames follow; so do the end records
        for (byte kind : new byte[] {StreamPreamble.PATH_SIGNALS, StreamPreamble.STREAM_ENDS}) {
            ByteBuf signals = Unpooled.wrappedBuffer(new byte[] {kind, 0, 5});
            assertEquals(new StreamPreamble.Request(kind, 0), StreamPreamble.decode(signals));
            assertEquals(2, signals.readableBytes());
        }
        assertThrows(IllegalArgumentException.class, () -> StreamPreamble.encode(65536, false));
    }

    @Test
    void anAbortNoticeCarriesTheStreamId() {
        byte[] notice = StreamPreamble.encodeAbort(0x0123_4567_89ABL);
        assertEquals(StreamPreamble.MAX_LENGTH, notice.length);
        assertNull(
                StreamPreamble.decode(
                        Unpooled.wrappedBuffer(notice, 0, StreamPreamble.MAX_LENGTH - 1)));
        ByteBuf in = Unpooled.wrappedBuffer(notice);
        assertEquals(
                new StreamPreamble.Request(StreamPreamble.ABORT_STREAM, 0, 0x0123_4567_89ABL),
                StreamPreamble.decode(in));
        assertEquals(0, in.readableBytes());
    }
}
