package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/**
 * "host:port" as users type it and as servers name it (a relay address from the rendezvous): names,
 * IPv4 and IPv6 literals parse; a host with anything else is refused, and the refusal quotes it
 * without its control characters (a malicious rendezvous's relay address reached the terminal with
 * its escapes: a cleared screen, a changed title, a forged log line).
 */
class HostPortTest {
    @Test
    void namesAndLiteralsParse() {
        InetSocketAddress a = HostPort.parse("relay.example.org:7001", 1);
        assertEquals("relay.example.org", a.getHostString());
        assertEquals(7001, a.getPort());
        assertEquals("relay.example.org:7001", HostPort.format(a));
        assertEquals("[::1]:9", HostPort.format(HostPort.parse("[::1]:9", 1)));
        assertEquals("[fe80::1%eth0]:9", HostPort.format(HostPort.parse("[fe80::1%eth0]:9", 1)));
        assertEquals("10.0.0.1:5", HostPort.format(HostPort.parse("10.0.0.1", 5)));
        assertEquals("0.0.0.0:7", HostPort.format(HostPort.parse(":7", 1)));
        assertEquals("my_host-1:2", HostPort.format(HostPort.parse("my_host-1:2", 1)));
    }

    @Test
    void aHostWithAnythingElseIsRefusedAndQuotedPrintably() {
        for (String hostile :
                new String[] {
                    "\u001b[2J\u001b[Hevil:7001",
                    "evil\u001b]0;owned\u0007:7001",
                    "a b:1",
                    "x\r\nINFO tunnel up:1",
                    "[::1\u001b[8m]:1",
                    "ex\u202eample.org:1",
                    "evil/path:1"
                }) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> HostPort.parse(hostile, 1));
            for (char c : e.getMessage().toCharArray())
                assertTrue(
                        c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0x9f) && c != '\u202e',
                        "control 0x" + Integer.toHexString(c) + " in: " + e.getMessage());
        }
    }
}
