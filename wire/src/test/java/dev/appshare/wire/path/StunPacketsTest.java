package dev.appshare.wire.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class StunPacketsTest {
    private static final int COOKIE = 0x2112A442; // RFC 5389 §6

    /** A STUN header with the given first byte, the cookie, and a 12-byte transaction id. */
    private static ByteBuf header(int firstByte) {
        return Unpooled.buffer(StunPackets.HEADER)
                .writeByte(firstByte)
                .writeByte(0x01)
                .writeShort(0)
                .writeInt(COOKIE)
                .writeZero(12);
    }

    @Test
    void firstByteZeroToThreeWithTheCookieIsStun() {
        for (int first = 0; first <= 3; first++) {
            ByteBuf b = header(first);
            assertTrue(StunPackets.isStun(b), "first byte " + first);
            b.release();
        }
    }

    @Test
    void anyOtherFirstByteIsNotStunEvenWithTheCookie() {
        for (int first = 4; first <= 255; first++) {
            ByteBuf b = header(first);
            assertFalse(StunPackets.isStun(b), "first byte " + first);
            b.release();
        }
    }

    @Test
    void aPathProbeWhoseNonceHoldsTheCookieIsNotStun() {
        // type(1) | nonce(8): the nonce's bytes 3..6 land at the datagram's bytes 4..7.
        long nonce = ((long) COOKIE & 0xFFFFFFFFL) << 8;
        ByteBuf probe = PathProbe.encode(ByteBufAllocator.DEFAULT, PathProbe.PROBE, nonce);
        try {
            assertEquals(COOKIE, probe.getInt(4), "the cookie is in place");
            assertTrue(PathProbe.isProbe(probe));
            assertFalse(StunPackets.isStun(probe));
        } finally {
            probe.release();
        }
    }

    @Test
    void tooShortOrWithoutTheCookieIsNotStun() {
        ByteBuf shortOne = header(0).writerIndex(StunPackets.HEADER - 1);
        assertFalse(StunPackets.isStun(shortOne));
        shortOne.release();
        ByteBuf noCookie = header(0).setInt(4, 0);
        assertFalse(StunPackets.isStun(noCookie));
        noCookie.release();
    }
}
