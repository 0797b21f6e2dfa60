package dev.appshare.wire.net;

import io.netty.channel.Channel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connections a server facing the internet holds open at once: at most {@code perAddress} per
 * source address (IPv4 /32, IPv6 /64: {@link AddressBudget}) and {@code global} in all, so that one
 * client cannot take the descriptors everyone else needs. The rendezvous and the relay each hold
 * one. Thread-safe.
 */
public final class ConnectionBudget {
    /** Descriptors no budget hands out: logs, jars, epoll, the listening sockets, a margin. */
    public static final int RESERVED_DESCRIPTORS = 256;

    /** Assumed where the JVM cannot read RLIMIT_NOFILE. */
    public static final int ASSUMED_DESCRIPTOR_LIMIT = 4096;

    private final int perAddress;
    private final int global;
    private final AtomicInteger open = new AtomicInteger();
    private final AddressBudget byAddress;

    public ConnectionBudget(int perAddress, int global) {
        this.perAddress = perAddress;
        this.global = global;
        this.byAddress = AddressBudget.concurrent(perAddress, Math.max(1, global));
    }

    /**
     * A global cap that takes {@code 1/divisor} of the process's descriptors past {@link
     * #RESERVED_DESCRIPTORS} (the relay takes a half, the rendezvous beside it a quarter, so the
     * two in one process leave room), at least 64 and at most {@code max}.
     */
    public static int fromDescriptors(int divisor, int max) {
        long limit = DescriptorLimit.soft().orElse(ASSUMED_DESCRIPTOR_LIMIT);
        return (int) Math.min(max, Math.max(64, (limit - RESERVED_DESCRIPTORS) / divisor));
    }

    /**
     * Admits one connection from {@code from}: null if admitted ({@link #release} it once when it
     * closes), else why not, for the log.
     */
    public String admit(InetAddress from) {
        if (open.incrementAndGet() > global) {
            open.decrementAndGet();
            return GLOBAL_REFUSAL + ", " + global;
        }
        if (!byAddress.tryTake(from)) {
            open.decrementAndGet();
            return "over its budget of " + perAddress + " connections";
        }
        return null;
    }

    /**
     * Admits an accepted connection by its remote address until it closes (then it is released):
     * null if admitted, else why not.
     */
    public String admitUntilClosed(Channel ch) {
        InetAddress from = ((InetSocketAddress) ch.remoteAddress()).getAddress();
        String refused = admit(from);
        if (refused == null) ch.closeFuture().addListener(f -> release(from));
        return refused;
    }

    /**
     * The metric label of a refusal {@link #admit} returned: "connections_total" (the global cap)
     * or "connections_per_address".
     */
    public static String reason(String refused) {
        return everyones(refused) ? "connections_total" : "connections_per_address";
    }

    /** Whether a refusal {@link #admit} returned was the global cap's (not the address's). */
    public static boolean everyones(String refused) {
        return refused.startsWith(GLOBAL_REFUSAL);
    }

    private static final String GLOBAL_REFUSAL = "the server holds its most connections";

    public void release(InetAddress from) {
        byAddress.giveBack(from);
        open.decrementAndGet();
    }

    /** Connections admitted and not yet released. */
    public int open() {
        return open.get();
    }

    /** Addresses holding at least one connection. */
    public int addresses() {
        return byAddress.addresses();
    }

    public int perAddress() {
        return perAddress;
    }

    public int global() {
        return global;
    }
}
