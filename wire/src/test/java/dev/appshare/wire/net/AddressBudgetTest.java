package dev.appshare.wire.net;

import static dev.appshare.wire.net.AddressBudget.Verdict.ACCEPTED;
import static dev.appshare.wire.net.AddressBudget.Verdict.ADDRESS_FULL;
import static dev.appshare.wire.net.AddressBudget.Verdict.GLOBAL_FULL;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

class AddressBudgetTest {
    static InetAddress ip(String literal) throws UnknownHostException {
        return InetAddress.getByName(literal);
    }

    @Test
    void anIpv4AddressIsCutAtItsBudgetAndGetsUnitsBackOnRelease() throws Exception {
        AddressBudget b = new AddressBudget(2, 100);
        assertEquals(ACCEPTED, b.acquire(ip("192.0.2.1")));
        assertEquals(ACCEPTED, b.acquire(ip("192.0.2.1")));
        assertEquals(ADDRESS_FULL, b.acquire(ip("192.0.2.1")));
        assertEquals(ACCEPTED, b.acquire(ip("192.0.2.2")), "a /32 is one address");
        b.release(ip("192.0.2.1"));
        assertEquals(ACCEPTED, b.acquire(ip("192.0.2.1")));
        assertEquals(3, b.total());
    }

    @Test
    void anIpv6Slash64IsOneAddress() throws Exception {
        AddressBudget b = new AddressBudget(2, 100);
        assertEquals(ACCEPTED, b.acquire(ip("2001:db8:1:2::1")));
        assertEquals(ACCEPTED, b.acquire(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assertEquals(ADDRESS_FULL, b.acquire(ip("2001:db8:1:2:1234::9")));
        assertEquals(ACCEPTED, b.acquire(ip("2001:db8:1:3::1")), "the next /64 is another");
        assertEquals(2, b.addresses());
    }

    @Test
    void theGlobalCapHoldsAndTheTableEmptiesWhenAllIsReleased() throws Exception {
        AddressBudget b = new AddressBudget(3, 10);
        for (int i = 0; i < 10; i++) assertEquals(ACCEPTED, b.acquire(ip("10.0.0." + i)));
        assertEquals(GLOBAL_FULL, b.acquire(ip("10.0.1.1")));
        assertEquals(10, b.addresses(), "never more entries than the cap");
        for (int i = 0; i < 10; i++) b.release(ip("10.0.0." + i));
        b.release(ip("10.0.9.9")); // never acquired: ignored
        assertEquals(0, b.total());
        assertEquals(0, b.addresses());
    }
}
