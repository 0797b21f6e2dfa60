package dev.appshare.wire.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts what each source address holds (e.g. open connections) against a per-address budget and a
 * global cap. An address is an IPv4 /32 or an IPv6 /64: one IPv6 host usually owns a whole /64, so
 * counting single IPv6 addresses would give it 2^64 budgets. The table holds only addresses that
 * hold something, so it never has more entries than the global cap. Thread-safe.
 */
public final class AddressBudget {
    /** The answer to {@link #acquire}. */
    public enum Verdict {
        ACCEPTED,
        /** this address already holds its budget */
        ADDRESS_FULL,
        /** all addresses together hold the global cap */
        GLOBAL_FULL
    }

    /** IPv4 /32 or IPv6 /64. */
    private record Key(boolean v6, long bits) {}

    private final int perAddress;
    private final int global;
    private final Map<Key, Integer> held = new HashMap<>();
    private int total;

    public AddressBudget(int perAddress, int global) {
        if (perAddress < 1 || global < 1) throw new IllegalArgumentException("budgets must be > 0");
        this.perAddress = perAddress;
        this.global = global;
    }

    public int perAddress() {
        return perAddress;
    }

    public int global() {
        return global;
    }

    /** Takes one unit for {@code from} if both its budget and the global cap allow. */
    public synchronized Verdict acquire(InetAddress from) {
        if (total >= global) return Verdict.GLOBAL_FULL;
        Key k = key(from);
        int n = held.getOrDefault(k, 0);
        if (n >= perAddress) return Verdict.ADDRESS_FULL;
        held.put(k, n + 1);
        total++;
        return Verdict.ACCEPTED;
    }

    /** Gives back one unit that {@link #acquire} granted to {@code from}. */
    public synchronized void release(InetAddress from) {
        Key k = key(from);
        Integer n = held.get(k);
        if (n == null) return;
        if (n <= 1) held.remove(k);
        else held.put(k, n - 1);
        total--;
    }

    /** Units held by all addresses together. */
    public synchronized int total() {
        return total;
    }

    /** Addresses (/32 or /64) that hold at least one unit. */
    public synchronized int addresses() {
        return held.size();
    }

    private static Key key(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) return new Key(false, ByteBuffer.wrap(b).getInt());
        return new Key(true, ByteBuffer.wrap(b).getLong()); // the first 64 bits: the /64
    }
}
