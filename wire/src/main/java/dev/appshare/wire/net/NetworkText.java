package dev.appshare.wire.net;

/**
 * Text a peer received from the network (a server's ERROR message, a relay's refusal reason, a QUIC
 * close reason), made safe to print. Whoever runs the server, or sits on the path to it, must not
 * be able to move the cursor, rewrite or clear earlier lines, set the terminal's title or forge a
 * log line with what it sends: terminal escape sequences are removed whole (CSI {@code ESC [ ...
 * final}, OSC {@code ESC ] ... BEL|ESC \}, other {@code ESC x}), CR, LF and TAB become one space
 * (none at either end), and every other C0 and C1 control, DEL, the bidirectional overrides and
 * isolates (which reorder what follows on the line) and the Unicode line and paragraph separators
 * are dropped.
 */
public final class NetworkText {
    private static final char ESC = 0x1b, BEL = 0x07, CSI = 0x9b, OSC = 0x9d, ST = 0x9c;

    private NetworkText() {}

    /** {@code s} without control characters; null stays null. */
    public static String printable(String s) {
        if (s == null) return null;
        StringBuilder out = new StringBuilder(s.length());
        int i = 0, n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == ESC && i + 1 < n && s.charAt(i + 1) == '[' || c == CSI) {
                i = skipCsi(s, i + (c == CSI ? 1 : 2));
            } else if (c == ESC && i + 1 < n && s.charAt(i + 1) == ']' || c == OSC) {
                i = skipOsc(s, i + (c == OSC ? 1 : 2));
            } else if (c == ESC) {
                i += Math.min(2, n - i); // ESC and the one character it applies to
            } else {
                if (c == '\r' || c == '\n' || c == '\t') {
                    if (out.length() == 0 || out.charAt(out.length() - 1) != ' ') out.append(' ');
                } else if (!unprintable(c)) {
                    out.append(c);
                }
                i++;
            }
        }
        return out.toString().strip();
    }

    private static boolean unprintable(char c) {
        return c < 0x20
                || c >= 0x7f && c <= 0x9f
                || c >= 0x202a && c <= 0x202e
                || c >= 0x2066 && c <= 0x2069
                || c == 0x200e
                || c == 0x200f
                || c == 0x061c
                || c == 0x2028
                || c == 0x2029;
    }

    /** Past a CSI sequence's parameters and intermediates (0x20-0x3f) to after its final byte. */
    private static int skipCsi(String s, int i) {
        while (i < s.length() && s.charAt(i) >= 0x20 && s.charAt(i) <= 0x3f) i++;
        return Math.min(i + 1, s.length());
    }

    /** Past an OSC string to after its terminator (BEL, ST, or ESC \), or to the end. */
    private static int skipOsc(String s, int i) {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == BEL || c == ST) return i + 1;
            if (c == ESC) return Math.min(i + 2, s.length());
            i++;
        }
        return i;
    }
}
