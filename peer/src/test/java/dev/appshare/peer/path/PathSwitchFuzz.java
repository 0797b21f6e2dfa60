package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.Fuzzing;
import dev.appshare.wire.path.PathProbe;
import dev.appshare.wire.path.StunPackets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.Ticker;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * How a peer's UDP socket sorts what arrives once ICE validated a pair: {@link StunPackets} (the
 * demux's STUN test), {@link PathProbe} and {@link PathSwitch#channelRead} on an EmbeddedChannel,
 * fed generated datagrams: random bytes, probes, answers, STUN headers and QUIC-looking packets, as
 * they are and mutated, from the validated address and from others. 100,000 datagrams (80,000 +
 * 20,000 probe round trips), fixed seeds.
 */
class PathSwitchFuzz {
    static final InetSocketAddress SOCKET = new InetSocketAddress("127.0.0.1", 40001);
    static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 40002);
    static final InetSocketAddress STRANGER = new InetSocketAddress("127.0.0.1", 40003);

    static final PathSwitch.Listener NO_LISTENER =
            new PathSwitch.Listener() {
                @Override
                public void pathChanged(String description) {}

                @Override
                public void allPathsLost(String why) {}
            };

    /** Stands for the QUIC codec: keeps the bytes of every datagram handed to it. */
    static final class Codec extends ChannelInboundHandlerAdapter {
        final List<DatagramPacket> got = new ArrayList<>();
        final List<byte[]> bytes = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            got.add(p);
            bytes.add(ByteBufUtil.getBytes(p.content()));
            p.release();
        }
    }

    /**
     * RFC 7983's split holds for any bytes: STUN (first byte 0..3, cookie), our probes (0x20/0x21,
     * exact lengths) and QUIC (0x40 bit) never overlap. Only the validated address is heard: a
     * probe is answered with its nonce in 9 bytes, an answer is consumed, a QUIC packet goes to the
     * codec unchanged, and the rest is dropped; nothing escapes and every buffer is released.
     */
    @Property(tries = 80_000, seed = "9601", generation = GenerationMode.RANDOMIZED)
    void datagramsAreSortedAsDocumented(
            @ForAll("datagrams") byte[] d,
            @ForAll boolean fromPeer,
            @ForAll("offsets") int offset) {
        UnpooledByteBufAllocator alloc = Fuzzing.countingAllocator();
        ByteBuf b = alloc.heapBuffer(offset + d.length).writeZero(offset).writeBytes(d);
        b.skipBytes(offset); // the parsers must honour the reader index

        boolean stun = StunPackets.isStun(b);
        assertEquals(
                d.length >= 20 && (d[0] & 0xff) <= 3 && ByteBuffer.wrap(d).getInt(4) == 0x2112A442,
                stun);
        if (stun) {
            assertEquals((d[0] & 0x01) != 0, StunPackets.isResponse(b));
            assertEquals(ByteBuffer.wrap(d, 8, 12).getLong(), StunPackets.transactionId(b).hi());
        }
        boolean probe = d.length > 0 && PathProbe.isProbe(b);
        boolean quic = d.length > 0 && (d[0] & 0x40) != 0;
        assertFalse(stun && probe || stun && quic || probe && quic, "kinds overlap");

        Codec codec = new Codec();
        EmbeddedChannel udp = open(codec, alloc);
        udp.writeInbound(new DatagramPacket(b, SOCKET, fromPeer ? PEER : STRANGER));
        List<DatagramPacket> sent = answersSent(udp);
        if (fromPeer && probe && d[0] == PathProbe.PROBE) {
            assertEquals(1, sent.size(), "one answer to a probe");
            DatagramPacket a = sent.get(0);
            assertEquals(PEER, a.recipient());
            byte[] answer = ByteBufUtil.getBytes(a.content());
            assertEquals(PathProbe.ANSWER_LENGTH, answer.length);
            assertEquals(PathProbe.ANSWER, answer[0]);
            assertArrayEquals(Arrays.copyOfRange(d, 1, 9), Arrays.copyOfRange(answer, 1, 9));
        } else {
            assertEquals(0, sent.size(), "only a probe from the validated address is answered");
        }
        sent.forEach(DatagramPacket::release);
        if (fromPeer && quic && !probe) {
            assertEquals(1, codec.bytes.size());
            assertArrayEquals(d, codec.bytes.get(0));
            assertEquals(VirtualAddresses.REMOTE, codec.got.get(0).sender());
        } else {
            assertEquals(0, codec.bytes.size(), "dropped");
        }
        udp.finishAndReleaseAll();
        assertEquals(0, Fuzzing.inUse(alloc), "bytes of unreleased buffers");
    }

    /** encode gives a probe or answer of the documented length that reads back the same. */
    @Property(tries = 20_000, seed = "9602", generation = GenerationMode.RANDOMIZED)
    void probesRoundTrip(@ForAll boolean ask, @ForAll long nonce) {
        UnpooledByteBufAllocator alloc = Fuzzing.countingAllocator();
        byte type = ask ? PathProbe.PROBE : PathProbe.ANSWER;
        ByteBuf b = PathProbe.encode(alloc, type, nonce);
        assertEquals(ask ? PathProbe.PROBE_LENGTH : PathProbe.ANSWER_LENGTH, b.readableBytes());
        assertTrue(PathProbe.isProbe(b));
        assertFalse(StunPackets.isStun(b));
        assertEquals(type, PathProbe.type(b));
        assertEquals(nonce, PathProbe.nonce(b));
        b.release();
        assertEquals(0, Fuzzing.inUse(alloc));
    }

    /** A UDP channel whose path switch has a validated direct path to {@link #PEER}. */
    private static EmbeddedChannel open(Codec codec, UnpooledByteBufAllocator alloc) {
        PathSwitch paths = new PathSwitch(NO_LISTENER, true);
        EmbeddedChannel udp =
                EmbeddedChannel.builder()
                        .ticker(Ticker.newMockTicker())
                        .handlers(paths, codec)
                        .build();
        udp.config().setAllocator(alloc);
        paths.directValidated(SOCKET, PEER, "host <-> host", () -> {}, why -> {});
        return udp;
    }

    /** What the switch wrote on the socket, less its own probes (sent on its first tick). */
    private static List<DatagramPacket> answersSent(EmbeddedChannel udp) {
        List<DatagramPacket> sent = new ArrayList<>();
        for (Object m; (m = udp.readOutbound()) != null; ) {
            DatagramPacket p = (DatagramPacket) m;
            if (p.content().readableBytes() == PathProbe.PROBE_LENGTH
                    && PathProbe.type(p.content()) == PathProbe.PROBE) {
                p.release();
            } else {
                sent.add(p);
            }
        }
        return sent;
    }

    @Provide
    Arbitrary<Integer> offsets() {
        return Arbitraries.integers().between(0, 3);
    }

    @Provide
    Arbitrary<byte[]> datagrams() {
        Arbitrary<byte[]> valid =
                Arbitraries.oneOf(
                        Arbitraries.longs().map(n -> probe(PathProbe.PROBE, n)),
                        Arbitraries.longs().map(n -> probe(PathProbe.ANSWER, n)),
                        Fuzzing.randomBytes(48).map(PathSwitchFuzz::stunHeader),
                        Fuzzing.randomBytes(48)
                                .filter(b -> b.length > 0)
                                .map(PathSwitchFuzz::quic));
        return Arbitraries.oneOf(Fuzzing.randomBytes(64), Fuzzing.validOrMutated(valid));
    }

    private static byte[] probe(byte type, long nonce) {
        int length = type == PathProbe.PROBE ? PathProbe.PROBE_LENGTH : PathProbe.ANSWER_LENGTH;
        return ByteBuffer.allocate(length).put(type).putLong(nonce).array();
    }

    /** A Binding request or response header (type 0x0001 or 0x0101) before random bytes. */
    private static byte[] stunHeader(byte[] rest) {
        ByteBuffer b = ByteBuffer.allocate(20 + rest.length);
        b.putShort((short) (rest.length % 2 == 0 ? 0x0001 : 0x0101)).putShort((short) rest.length);
        b.putInt(StunPackets.MAGIC_COOKIE).put(new byte[12]).put(rest);
        return b.array();
    }

    private static byte[] quic(byte[] b) {
        b[0] |= 0x40;
        return b;
    }
}
