package dev.appshare.rendezvous;

import dev.appshare.wire.net.AddressBudget;
import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.net.ServerStats;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the rendezvous grants each source address (IPv4 /32, IPv6 /64: see {@link AddressBudget})
 * and all clients together, so that one flooding client cannot take what real users need: control
 * connections open at once (and a global cap under the process's descriptors), name look-ups and
 * relay tokens per second, live shares. The limits, their defaults and the reasons for them are in
 * {@link ClientLimits}. Refusals are logged at most once per {@link #LOG_INTERVAL_NANOS}, with a
 * count.
 */
public final class ClientBudgets {
    private static final Logger log = LoggerFactory.getLogger(ClientBudgets.class);

    /** One line about refused clients per this interval, at most. */
    public static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    /**
     * Addresses each budget tracks at once (those in debt): bounds its memory (about 100 bytes an
     * entry). Past it, a new address is refused until buckets refill.
     */
    public static final int MAX_ADDRESSES = 65_536;

    private final ConnectionBudget connections;
    private final AddressBudget lookups;
    private final AddressBudget tokens;
    private final AddressBudget shares;
    private final AddressBudget sharesPerSite; // IPv6 only, per /48
    private final RejectionLog refusals;
    private final ServerStats stats;

    ClientBudgets(RendezvousServer.Config c) {
        ClientLimits l = c.limits;
        connections = new ConnectionBudget(l.connectionsPerAddress(), l.maxConnections());
        lookups =
                AddressBudget.perSecond(
                        l.lookupsPerSecond(), l.lookupBurst(), MAX_ADDRESSES, c.nanoTime);
        tokens =
                AddressBudget.perSecond(
                        l.tokensPerSecond(), l.tokenBurst(), MAX_ADDRESSES, c.nanoTime);
        shares = AddressBudget.concurrent(l.sharesPerAddress(), MAX_ADDRESSES);
        sharesPerSite =
                AddressBudget.concurrentPerV6Site(
                        Math.max(l.sharesPerAddress(), ClientLimits.SHARES_PER_V6_SITE),
                        MAX_ADDRESSES);
        refusals = new RejectionLog(log, LOG_INTERVAL_NANOS, c.nanoTime);
        stats = c.stats;
    }

    /**
     * Admits a new control connection, or says it is to be closed at once: the server holds {@code
     * maxConnections}, or its address holds its share of them. Each admitted one must be
     * {@linkplain #connectionClosed closed} once.
     */
    boolean admitConnection(InetAddress from) {
        String refused = connections.admit(from);
        if (refused == null) return true;
        stats.refused("rendezvous", ConnectionBudget.reason(refused));
        refusals.refused(refused, from.getHostAddress());
        return false;
    }

    void connectionClosed(InetAddress from) {
        connections.release(from);
    }

    /** One name look-up (a CONNECT, known name or not); false, and logged, past the budget. */
    boolean lookup(InetAddress from) {
        return take(lookups, from, "lookups", "over its budget of name look-ups");
    }

    /** One relay token minted; false, and logged, past the budget. */
    boolean mintToken(InetAddress from) {
        return take(tokens, from, "relay_tokens", "over its budget of relay tokens");
    }

    /**
     * One more live share; false, and logged, past the budget. Give back with {@link #shareLeft}.
     */
    boolean share(InetAddress from) {
        boolean v6 = from instanceof Inet6Address;
        if (v6 && !take(sharesPerSite, from, "shares", "its IPv6 /48 over its budget of shares"))
            return false;
        if (take(shares, from, "shares", "over its budget of live shares")) return true;
        if (v6) sharesPerSite.giveBack(from);
        return false;
    }

    void shareLeft(InetAddress from) {
        shares.giveBack(from);
        if (from instanceof Inet6Address) sharesPerSite.giveBack(from);
    }

    int openConnections() {
        return connections.open();
    }

    private boolean take(AddressBudget b, InetAddress from, String reason, String what) {
        if (b.tryTake(from)) return true;
        stats.refused("rendezvous", reason);
        refusals.refused(what, from.getHostAddress());
        return false;
    }
}
