package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** What a server or relay sends is printed without anything a terminal or a log would obey. */
class NetworkTextTest {
    @Test
    void escapeSequencesAreRemovedWhole() {
        assertEquals("red text", NetworkText.printable("\u001b[31mred\u001b[0m text"));
        assertEquals("cleared", NetworkText.printable("\u001b[2J\u001b[1;1Hcleared"));
        assertEquals("title", NetworkText.printable("\u001b]0;pwned\u0007title"));
        assertEquals("title", NetworkText.printable("\u001b]0;pwned\u001b\\title"));
        assertEquals("ab", NetworkText.printable("a\u001bcb")); // ESC c: reset the terminal
        assertEquals("x", NetworkText.printable("\u009b2Jx")); // C1 CSI
        assertEquals("cut", NetworkText.printable("cut\u001b"));
        assertEquals("", NetworkText.printable("\u001b[31"));
    }

    @Test
    void lineBreaksBecomeOneSpaceSoNoLineCanBeForged() {
        assertEquals(
                "no share named x INFO share bank registered",
                NetworkText.printable("no share named x\r\nINFO share bank registered"));
        assertEquals("a b", NetworkText.printable("a\tb"));
        assertEquals("overwritten", NetworkText.printable("overwritten\r"));
    }

    @Test
    void otherControlsAreDropped() {
        StringBuilder all = new StringBuilder("<");
        for (char c = 0; c < 0x20; c++)
            if (c != '\r' && c != '\n' && c != '\t' && c != 0x1b) all.append(c);
        for (char c = 0x7f; c <= 0x9f; c++) if (c != 0x9b && c != 0x9d) all.append(c);
        all.append("\u202e\u2066\u2069\u200f\u2028\u2029>");
        assertEquals("<>", NetworkText.printable(all.toString()));
    }

    @Test
    void ordinaryTextIsKept() {
        String s = "share cheerful-beaver-2087 has too many connectors; ünïcödé, 名前, émoji 🙂";
        assertEquals(s, NetworkText.printable(s));
        assertNull(NetworkText.printable(null));
    }
}
