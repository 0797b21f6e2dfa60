package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The per-address budgets, on an injected clock. */
class AddressBudgetTest {
    private static final long SECOND = 1_000_000_000L;
    private final AtomicLong now = new AtomicLong(123 * SECOND);

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void aRateBudgetGivesTheBurstThenTheRate() throws Exception {
        AddressBudget b = AddressBudget.perSecond(2, 5, 100, now::get);
        InetAddress a = ip("192.0.2.1");
        int taken = 0;
        for (int i = 0; i < 100; i++) if (b.tryTake(a)) taken++;
        assertEquals(5, taken, "the burst");
        now.addAndGet(SECOND / 4);
        assertFalse(b.tryTake(a), "half a token earned is none");
        now.addAndGet(SECOND / 4);
        assertTrue(b.tryTake(a), "a token every 500 ms");
        assertFalse(b.tryTake(a));
        now.addAndGet(10 * SECOND);
        taken = 0;
        for (int i = 0; i < 100; i++) if (b.tryTake(a)) taken++;
        assertEquals(5, taken, "a long pause earns the burst back, no more");
        assertTrue(b.tryTake(ip("192.0.2.2")), "another address has its own budget");
    }

    @Test
    void aConcurrentBudgetIsGivenBackAndForgetsAddressesThatOweNothing() throws Exception {
        AddressBudget b = AddressBudget.concurrent(3, 100);
        InetAddress a = ip("192.0.2.1");
        for (int i = 0; i < 3; i++) assertTrue(b.tryTake(a));
        now.addAndGet(1000 * SECOND);
        assertFalse(b.tryTake(a), "never refills by itself");
        b.giveBack(a);
        assertTrue(b.tryTake(a));
        for (int i = 0; i < 3; i++) b.giveBack(a);
        assertEquals(0, b.addresses(), "an address that holds nothing has no entry");
        b.giveBack(a); // more than taken: no credit
        assertEquals(3, b.remaining(a));
    }

    @Test
    void ipv6CountsPerSlash64AndIpv4PerAddress() throws Exception {
        AddressBudget b = AddressBudget.concurrent(1, 100);
        assertTrue(b.tryTake(ip("2001:db8:1:2::1")));
        assertFalse(b.tryTake(ip("2001:db8:1:2:ffff::9")), "the same /64");
        assertTrue(b.tryTake(ip("2001:db8:1:3::1")), "the next /64");
        assertTrue(b.tryTake(ip("10.0.0.1")));
        assertTrue(b.tryTake(ip("10.0.0.2")), "IPv4: each address");
        assertTrue(b.tryTake(ip("::ffff:10.0.0.3")), "mapped IPv4 is IPv4");
        assertFalse(b.tryTake(ip("10.0.0.3")));
        // 10.0.0.1 is 0x0a000001; no IPv6 /64 shares a key with it.
        assertNotEquals(AddressBudget.Key.of(ip("10.0.0.1")), AddressBudget.Key.of(ip("a00:1::")));
    }

    @Test
    void aSiteBudgetCountsIpv6PerSlash48AndIpv4PerAddress() throws Exception {
        AddressBudget b = AddressBudget.concurrentPerV6Site(2, 100);
        assertTrue(b.tryTake(ip("2001:db8:1:2::1")));
        assertTrue(b.tryTake(ip("2001:db8:1:ffff::1")), "another /64 of the same /48");
        assertFalse(b.tryTake(ip("2001:db8:1:7::1")), "the /48 holds its two");
        assertTrue(b.tryTake(ip("2001:db8:2::1")), "the next /48");
        b.giveBack(ip("2001:db8:1:abcd::5"));
        assertTrue(b.tryTake(ip("2001:db8:1:7::1")), "given back anywhere in the /48");
        assertTrue(b.tryTake(ip("10.0.0.1")));
        assertTrue(b.tryTake(ip("10.0.0.1")));
        assertFalse(b.tryTake(ip("10.0.0.1")), "IPv4: each address");
        assertTrue(b.tryTake(ip("10.0.0.2")));
    }

    @Test
    void theTableIsBoundedAndSweptOfRefilledBuckets() throws Exception {
        AddressBudget b = AddressBudget.perSecond(1, 1, 3, now::get);
        for (int i = 1; i <= 3; i++) assertTrue(b.tryTake(ip("192.0.2." + i)));
        assertFalse(b.tryTake(ip("192.0.2.4")), "full, and nobody refilled: a new one waits");
        assertEquals(3, b.addresses());
        now.addAndGet(SECOND / 2);
        assertFalse(b.tryTake(ip("192.0.2.5")), "one sweep a second at most");
        now.addAndGet(SECOND);
        assertTrue(b.tryTake(ip("192.0.2.4")), "the refilled buckets were swept out");
        assertEquals(1, b.addresses());
        for (int i = 0; i < 10_000; i++) b.tryTake(ip("198.51." + (i >> 8) + "." + (i & 255)));
        assertTrue(b.addresses() <= 3, "bounded: " + b.addresses());
    }
}
