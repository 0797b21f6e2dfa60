package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.Fuzzing;
import dev.appshare.wire.path.StunPackets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.AttributeFactory;
import org.ice4j.attribute.XorMappedAddressAttribute;
import org.ice4j.message.Message;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.ice4j.message.Response;

/**
 * {@link StunResponder} on an EmbeddedChannel, fed generated datagrams: random bytes, valid Binding
 * requests (with and without a SOFTWARE attribute), and mutations of them. 100,000 datagrams, fixed
 * seed.
 */
class StunResponderFuzz {
    static final InetSocketAddress RECIPIENT = new InetSocketAddress("127.0.0.1", 3478);

    static {
        StunResponder.warmUp();
    }

    /**
     * Every datagram is answered with exactly one Binding success response carrying its transaction
     * id and the sender's address, no larger than the documented 48/60 bytes, or gets no answer at
     * all; only what passes the documented cheap checks is answered, and every valid request is;
     * nothing escapes and every buffer is released.
     */
    @Property(tries = 100_000, seed = "9501", generation = GenerationMode.RANDOMIZED)
    void aDatagramGetsOneBoundedAnswerOrNone(
            @ForAll("datagrams") Datagram d, @ForAll("senders") InetSocketAddress sender)
            throws Exception {
        UnpooledByteBufAllocator alloc = Fuzzing.countingAllocator();
        EmbeddedChannel ch = new EmbeddedChannel(new StunResponder());
        ByteBuf in = alloc.heapBuffer(d.bytes().length).writeBytes(d.bytes());
        ch.writeInbound(new DatagramPacket(in, RECIPIENT, sender));
        DatagramPacket answer = ch.readOutbound();
        assertNull(ch.readOutbound(), "one answer at most");
        if (d.valid()) assertNotNull(answer, "a valid Binding request is answered");
        if (answer != null) {
            byte[] reply = ByteBufUtil.getBytes(answer.content());
            answer.release();
            assertEquals(sender, answer.recipient());
            assertPassesCheapChecks(d.bytes());
            assertTrue(reply.length <= (sender.getAddress().getAddress().length == 4 ? 48 : 60));
            Response r = assertInstanceOf(Response.class, Message.decode(reply, 0, reply.length));
            assertEquals(Message.BINDING_SUCCESS_RESPONSE, r.getMessageType());
            assertArrayEquals(Arrays.copyOfRange(d.bytes(), 8, 20), r.getTransactionID());
            XorMappedAddressAttribute mapped =
                    (XorMappedAddressAttribute) r.getAttribute(Attribute.XOR_MAPPED_ADDRESS);
            assertEquals(
                    new TransportAddress(sender, Transport.UDP),
                    mapped.getAddress(r.getTransactionID()));
        }
        ch.finishAndReleaseAll();
        assertEquals(0, Fuzzing.inUse(alloc), "bytes of unreleased buffers");
    }

    private static void assertPassesCheapChecks(byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        assertTrue(b.length >= StunPackets.HEADER && b.length <= StunResponder.MAX_REQUEST);
        assertEquals(Message.BINDING_REQUEST, buf.getShort(0));
        assertEquals(b.length - StunPackets.HEADER, buf.getShort(2) & 0xffff);
        assertEquals(StunPackets.MAGIC_COOKIE, buf.getInt(4));
    }

    /** One datagram, and whether it is a well-formed Binding request as generated. */
    record Datagram(byte[] bytes, boolean valid) {}

    @Provide
    Arbitrary<Datagram> datagrams() {
        Arbitrary<byte[]> valid = validRequests();
        return Arbitraries.oneOf(
                Fuzzing.randomBytes(64).map(b -> new Datagram(b, false)),
                valid.map(b -> new Datagram(b, true)),
                Fuzzing.mutationsOf(valid).map(b -> new Datagram(b, false)));
    }

    @Provide
    Arbitrary<InetSocketAddress> senders() {
        return Combinators.combine(
                        Arbitraries.of("127.0.0.1", "::1", "127.3.2.1"),
                        Arbitraries.integers().between(1, 65535))
                .as(InetSocketAddress::new);
    }

    private static Arbitrary<byte[]> validRequests() {
        return Combinators.combine(
                        Arbitraries.bytes().array(byte[].class).ofSize(12),
                        Arbitraries.strings().alpha().ofMaxLength(20))
                .as(StunResponderFuzz::bindingRequest);
    }

    private static byte[] bindingRequest(byte[] transactionId, String software) {
        try {
            Request r = MessageFactory.createBindingRequest();
            r.setTransactionID(transactionId);
            if (!software.isEmpty()) {
                r.putAttribute(
                        AttributeFactory.createSoftwareAttribute(
                                software.getBytes(StandardCharsets.US_ASCII)));
            }
            return r.encode(null);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
