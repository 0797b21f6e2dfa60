package dev.appshare.wire.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RendezvousMessageTest {
    @Test
    void roundTripsValuesWithSpacesEqualsPercentAndUnicode() throws Exception {
        RendezvousMessage m =
                RendezvousMessage.of(
                        "ERROR",
                        "code",
                        "bad-request",
                        "message",
                        "a = b 100% \u00e9t\u00e9\nnext");
        String line = m.encode();
        assertEquals(1, line.split("\n", -1).length, "one line on the wire");
        RendezvousMessage back = RendezvousMessage.decode(line);
        assertEquals("ERROR", back.type());
        assertEquals("a = b 100% \u00e9t\u00e9\nnext", back.get("message"));
        assertEquals("bad-request", back.get("code"));
    }

    @Test
    void nullFieldsAreLeftOut() throws Exception {
        RendezvousMessage m = RendezvousMessage.of("REGISTER", "name", null, "v", "1");
        assertEquals("REGISTER v=1", m.encode());
        assertNull(RendezvousMessage.decode(m.encode()).get("name"));
    }

    @Test
    void rejectsMalformedLines() {
        for (String bad :
                new String[] {
                    "",
                    "lower case",
                    "REGISTER novalue",
                    "REGISTER =x",
                    "REGISTER K=v",
                    "REGISTER a=%zz",
                    "REGISTER a=%4",
                    "WAYTOOLONGTYPENAMEHERE x=1",
                    // unescaped: passed on, each would grow threefold (and could outgrow a frame)
                    "SIGNAL session=1 x=a=b",
                    "SIGNAL session=1 x=a\tb",
                    "SIGNAL session=1 x=a\u007fb"
                }) {
            assertThrows(ProtocolException.class, () -> RendezvousMessage.decode(bad), bad);
        }
        StringBuilder many = new StringBuilder("X");
        for (int i = 0; i < 40; i++) many.append(" k").append(i).append("=v");
        assertThrows(ProtocolException.class, () -> RendezvousMessage.decode(many.toString()));
    }

    @Test
    void requireNamesTheMissingField() {
        ProtocolException e =
                assertThrows(
                        ProtocolException.class,
                        () -> RendezvousMessage.of("CONNECT").require("name"));
        assertTrue(e.getMessage().contains("name"));
    }
}
