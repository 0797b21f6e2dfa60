package dev.appshare.peer.ice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Candidates from the other peer are hostile input: literals only, strict fields. */
class CandidateLineTest {
    @Test
    void addressLiteralsParseAndAnythingElseIsRefused() throws Exception {
        assertEquals(
                InetAddress.getByAddress(new byte[] {1, 2, 3, 4}),
                HostAddresses.literal("1.2.3.4"));
        assertEquals(
                InetAddress.getByAddress(new byte[] {(byte) 255, 0, 0, 1}),
                HostAddresses.literal("255.0.0.1"));
        assertEquals(InetAddress.getByName("::1"), HostAddresses.literal("::1"));
        assertEquals(InetAddress.getByName("2001:db8::7"), HostAddresses.literal("2001:db8::7"));
        // Names, and strings InetAddress would hand to the resolver, never get that far.
        for (String bad :
                new String[] {
                    "999.1.1.1",
                    "256.0.0.1",
                    ".:1",
                    "example.com",
                    "abc",
                    "1.2.3",
                    "1.2.3.4.5",
                    "",
                    "1.2.3.4 ",
                    "::g",
                    "[::1]",
                    "localhost"
                }) {
            assertThrows(IllegalArgumentException.class, () -> HostAddresses.literal(bad), bad);
        }
    }

    @Test
    void malformedCandidateLinesAreRefused() {
        for (String bad :
                new String[] {
                    "",
                    "1 2130706431 host 127.0.0.1",
                    "1 2130706431 host 127.0.0.1 0",
                    "1 2130706431 host 127.0.0.1 65536",
                    "1 0 host 127.0.0.1 5000",
                    "1 99999999999 host 127.0.0.1 5000",
                    "1 2130706431 relay 127.0.0.1 5000",
                    "1 2130706431 host example.com 5000",
                    "x y z w v",
                    "1 2130706431 host 127.0.0.1 5000 extra",
                    "f$ 2130706431 host 127.0.0.1 5000"
                }) {
            assertThrows(RuntimeException.class, () -> CandidateLine.decode(bad, null), bad);
        }
    }
}
