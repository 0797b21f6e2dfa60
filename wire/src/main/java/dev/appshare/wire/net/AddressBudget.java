package dev.appshare.wire.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A budget per source address, for servers that face the internet: each address (IPv4 /32, IPv6
 * /64, since one host or one customer typically holds a whole /64) has a bucket of tokens, and
 * {@link #tryTake} spends one or says no. Two kinds:
 *
 * <ul>
 *   <li>{@link #concurrent}: {@code max} tokens that never refill; {@link #giveBack} returns one
 *       (connections open at once, shares live at once);
 *   <li>{@link #perSecond}: a token bucket that refills at {@code rate} per second up to {@code
 *       burst} (look-ups, relay tokens minted).
 * </ul>
 *
 * <p>Only addresses in debt (bucket not full) have an entry: a full bucket is the same as none, so
 * it is dropped. The table holds at most {@code maxAddresses} entries; when it is full, buckets
 * that refilled meanwhile are swept out (at most once a second, so a flood of new addresses cannot
 * make every call walk the table), and if none did, a new address is refused: memory stays bounded
 * and the addresses already served keep their budgets. Thread-safe (callers run on several event
 * loops); each call is O(1) but for that sweep.
 */
public final class AddressBudget {
    /** The prefix an address is counted under: the IPv4 address, or the IPv6 /64. */
    public record Key(boolean v6, long bits) {
        public static Key of(InetAddress a) {
            return of(a, 64);
        }

        /** Counted by site: its IPv6 /48 ({@link #concurrentPerV6Site}'s key); IPv4 whole. */
        public static Key site(InetAddress a) {
            return of(a, 48);
        }

        /** Counted under its IPv6 /{@code v6Prefix} (a multiple of 8, at most 64); IPv4 whole. */
        static Key of(InetAddress a, int v6Prefix) {
            byte[] b = a.getAddress();
            long bits = 0;
            for (int i = 0; i < Math.min(8, b.length); i++) bits = bits << 8 | (b[i] & 0xff);
            if (b.length > 4 && v6Prefix < 64) bits &= -1L << (64 - v6Prefix);
            return new Key(!(a instanceof Inet4Address), bits);
        }
    }

    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long SWEEP_INTERVAL_NANOS = NANOS_PER_SECOND;

    private final int capacity;
    private final int v6Prefix; // IPv6 addresses are counted under this prefix
    private final long nanosPerToken; // 0: never refills
    private final int maxAddresses;
    private final LongSupplier nanoTime;
    private final Map<Key, Bucket> buckets = new HashMap<>();
    private long lastSweep;
    private boolean swept;

    private static final class Bucket {
        long tokens; // in units of one token
        long stamp; // nanoTime of the last refill
    }

    private AddressBudget(
            int capacity, long nanosPerToken, int maxAddresses, LongSupplier clock, int v6Prefix) {
        if (capacity < 1 || maxAddresses < 1) throw new IllegalArgumentException("empty budget");
        this.capacity = capacity;
        this.v6Prefix = v6Prefix;
        this.nanosPerToken = nanosPerToken;
        this.maxAddresses = maxAddresses;
        this.nanoTime = clock;
    }

    /**
     * At most {@code max} held at once per address; {@link #giveBack} after each {@link #tryTake}.
     */
    public static AddressBudget concurrent(int max, int maxAddresses) {
        return new AddressBudget(max, 0, maxAddresses, System::nanoTime, 64);
    }

    /**
     * At most {@code max} held at once per IPv6 /48 (a site: one customer's allocation holds 65,536
     * /64s, each of which {@link #concurrent} counts apart); IPv4 addresses as one each.
     */
    public static AddressBudget concurrentPerV6Site(int max, int maxAddresses) {
        return new AddressBudget(max, 0, maxAddresses, System::nanoTime, 48);
    }

    /**
     * {@code rate} per second per address, with bursts of up to {@code burst}.
     *
     * @param nanoTime the clock (System::nanoTime; tests pass their own)
     */
    public static AddressBudget perSecond(
            int rate, int burst, int maxAddresses, LongSupplier nanoTime) {
        if (rate < 1) throw new IllegalArgumentException("rate " + rate);
        return new AddressBudget(burst, NANOS_PER_SECOND / rate, maxAddresses, nanoTime, 64);
    }

    /**
     * One token per {@code nanosPerToken} per address, with bursts of up to {@code burst}: for
     * budgets slower than one a second (a share's wrong-code attempts).
     */
    public static AddressBudget perInterval(
            long nanosPerToken, int burst, int maxAddresses, LongSupplier nanoTime) {
        if (nanosPerToken < 1) throw new IllegalArgumentException("interval " + nanosPerToken);
        return new AddressBudget(burst, nanosPerToken, maxAddresses, nanoTime, 64);
    }

    /** Spends one of {@code a}'s tokens; false if it has none left (or the table is full). */
    public synchronized boolean tryTake(InetAddress a) {
        Key k = Key.of(a, v6Prefix);
        long now = nanoTime.getAsLong();
        Bucket b = buckets.get(k);
        if (b == null) {
            if (buckets.size() >= maxAddresses && !sweep(now)) return false;
            b = new Bucket();
            b.tokens = capacity;
            b.stamp = now;
            buckets.put(k, b);
        }
        refill(b, now);
        if (b.tokens == 0) return false;
        b.tokens--;
        return true;
    }

    /**
     * Returns a token taken by {@link #tryTake}: for concurrent budgets, and for refill budgets
     * where a take turned out not to count (a refund).
     */
    public synchronized void giveBack(InetAddress a) {
        Key k = Key.of(a, v6Prefix);
        Bucket b = buckets.get(k);
        if (b == null) return;
        if (++b.tokens >= capacity) buckets.remove(k);
    }

    /** How many tokens {@code a} has left now. */
    public synchronized int remaining(InetAddress a) {
        Bucket b = buckets.get(Key.of(a, v6Prefix));
        if (b == null) return capacity;
        refill(b, nanoTime.getAsLong());
        return (int) b.tokens;
    }

    /** Addresses with an entry (in debt): bounded by maxAddresses. */
    public synchronized int addresses() {
        return buckets.size();
    }

    private void refill(Bucket b, long now) {
        if (nanosPerToken == 0 || b.tokens >= capacity) {
            b.stamp = now;
            return;
        }
        long earned = (now - b.stamp) / nanosPerToken;
        if (earned <= 0) return;
        if (earned >= capacity - b.tokens) {
            b.tokens = capacity;
            b.stamp = now;
        } else {
            b.tokens += earned;
            b.stamp += earned * nanosPerToken; // keep the fraction of a token earned so far
        }
    }

    /** Drops buckets that refilled; true if that made room. */
    private boolean sweep(long now) {
        if (swept && now - lastSweep < SWEEP_INTERVAL_NANOS) return false;
        swept = true;
        lastSweep = now;
        for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
            Bucket b = it.next();
            refill(b, now);
            if (b.tokens >= capacity) it.remove();
        }
        return buckets.size() < maxAddresses;
    }
}
