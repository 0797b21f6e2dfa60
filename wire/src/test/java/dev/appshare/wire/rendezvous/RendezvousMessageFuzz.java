package dev.appshare.wire.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.Fuzzing;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * {@link RendezvousMessage#decode} on generated lines: random text, and mutations of valid
 * encodings. 100,000 lines in all (80,000 + 20,000), fixed seeds.
 */
class RendezvousMessageFuzz {

    /**
     * Any line either decodes to a message within the documented bounds, whose own encoding decodes
     * back to it, or is refused with a {@link ProtocolException}: nothing else escapes.
     */
    @Property(tries = 80_000, seed = "9001", generation = GenerationMode.RANDOMIZED)
    void anyLineDecodesWithinBoundsOrIsAProtocolError(@ForAll("lines") String line) {
        RendezvousMessage m;
        try {
            m = RendezvousMessage.decode(line);
        } catch (ProtocolException refused) {
            return;
        }
        assertTrue(m.type().matches("[A-Z]{1,16}"), m.type());
        assertTrue(m.fields().size() <= RendezvousMessage.MAX_FIELDS);
        m.fields().keySet().forEach(k -> assertTrue(k.matches("[a-z0-9-]{1,32}"), k));
        assertSame(m, decodeUnchecked(m.encode()));
        // Passed on, a message never grows: it fitted the frame it came in, so it fits the next.
        assertTrue(
                m.encode().getBytes(StandardCharsets.UTF_8).length
                        <= line.getBytes(StandardCharsets.UTF_8).length,
                line);
    }

    /** encode then decode gives the same message. */
    @Property(tries = 20_000, seed = "9002", generation = GenerationMode.RANDOMIZED)
    void wellFormedMessagesRoundTrip(@ForAll("messages") RendezvousMessage m) {
        assertSame(m, decodeUnchecked(m.encode()));
    }

    @Provide
    Arbitrary<String> lines() {
        Arbitrary<String> valid = messages().map(RendezvousMessage::encode);
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40),
                Arbitraries.strings().withChars("PINGREGISTER az09-=%AF \t\n").ofMaxLength(40),
                Fuzzing.mutationsOf(valid.map(s -> s.getBytes(StandardCharsets.UTF_8)))
                        .map(b -> new String(b, StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<RendezvousMessage> messages() {
        return ControlMessages.messages();
    }

    static void assertSame(RendezvousMessage expected, RendezvousMessage actual) {
        assertEquals(expected.type(), actual.type());
        assertEquals(expected.fields(), actual.fields());
        assertEquals(expected.encode(), actual.encode());
    }

    private static RendezvousMessage decodeUnchecked(String line) {
        try {
            return RendezvousMessage.decode(line);
        } catch (ProtocolException e) {
            throw new AssertionError("a message's own encoding is refused: " + line, e);
        }
    }
}
