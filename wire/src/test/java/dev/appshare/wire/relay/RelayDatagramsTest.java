package dev.appshare.wire.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RelayDatagramsTest {
    private static EmbeddedChannel peer() {
        return new EmbeddedChannel(RelayDatagrams.newDecoder(), RelayDatagrams.newEncoder());
    }

    private static byte[] bytes(ByteBuf b) {
        try {
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    @Test
    void datagramsOfEveryAllowedSizeCrossInOrderAndByteExact() throws Exception {
        EmbeddedChannel sender = peer();
        EmbeddedChannel receiver = peer();
        Random random = new Random(7);
        int[] sizes = {
            1, 2, 9, 1349, 1350, RelayDatagrams.MAX_DATAGRAM - 1, RelayDatagrams.MAX_DATAGRAM
        };
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        for (int size : sizes) {
            byte[] d = new byte[size];
            random.nextBytes(d);
            sent.update(d);
            assertTrue(sender.writeOutbound(Unpooled.wrappedBuffer(d)));
        }
        // The stream of frames, fed to the other side in awkward pieces as TCP may deliver it.
        ByteBuf stream = Unpooled.buffer();
        for (ByteBuf frame; (frame = sender.readOutbound()) != null; ) {
            stream.writeBytes(frame);
            frame.release();
        }
        assertEquals(
                sizes.length * RelayDatagrams.LENGTH_BYTES + Arrays.stream(sizes).sum(),
                stream.readableBytes());
        assertEquals(1, stream.getUnsignedShort(0), "the first length, big-endian");
        while (stream.isReadable()) {
            receiver.writeInbound(stream.readRetainedSlice(Math.min(7, stream.readableBytes())));
        }
        stream.release();
        MessageDigest received = MessageDigest.getInstance("SHA-256");
        for (int size : sizes) {
            byte[] d = bytes(receiver.readInbound());
            assertEquals(size, d.length);
            received.update(d);
        }
        assertNull(receiver.readInbound());
        assertArrayEquals(sent.digest(), received.digest());
        assertFalse(sender.finish());
        assertFalse(receiver.finish());
    }

    @Test
    void theDecoderRefusesALengthOfZero() {
        EmbeddedChannel receiver = peer();
        assertThrows(
                CorruptedFrameException.class,
                () -> receiver.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 42})));
        assertNull(receiver.readInbound());
        receiver.close(); // as RelayDatagramHandler does; the decoder refuses the rest again
        assertNull(receiver.readInbound(), "nothing was delivered, not even at close");
    }

    @Test
    void theDecoderRefusesAnOverLongLengthBeforeItsBodyArrives() {
        EmbeddedChannel receiver = peer();
        int tooLong = RelayDatagrams.MAX_DATAGRAM + 1;
        // Only the two length bytes: the refusal must not wait for (or buffer) the body.
        assertThrows(
                TooLongFrameException.class,
                () -> receiver.writeInbound(Unpooled.buffer().writeShort(tooLong)));
        assertNull(receiver.readInbound());
        receiver.finishAndReleaseAll();
    }

    @Test
    void theEncoderRefusesEmptyAndOverLongDatagrams() {
        EmbeddedChannel sender = peer();
        ChannelFuture empty = sender.writeAndFlush(Unpooled.EMPTY_BUFFER);
        assertTrue(empty.cause() instanceof EncoderException, String.valueOf(empty.cause()));
        ByteBuf big = Unpooled.wrappedBuffer(new byte[RelayDatagrams.MAX_DATAGRAM + 1]);
        ChannelFuture tooLong = sender.writeAndFlush(big);
        assertTrue(tooLong.cause() instanceof EncoderException, String.valueOf(tooLong.cause()));
        assertEquals(0, big.refCnt(), "a refused datagram is released");
        assertNull(sender.readOutbound(), "nothing reached the connection");
        assertTrue(sender.isActive(), "a refused write fails only itself");
        sender.finishAndReleaseAll();
    }
}
