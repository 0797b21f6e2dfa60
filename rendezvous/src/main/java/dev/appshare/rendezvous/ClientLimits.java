package dev.appshare.rendezvous;

import dev.appshare.wire.net.ConnectionBudget;

/**
 * What the rendezvous grants each source address (IPv4 address, IPv6 /64) and all clients together;
 * {@link ClientBudgets} enforces it. Past a per-address budget a request is answered {@code ERROR
 * busy} (a connection over its budget is closed at once, unanswered).
 *
 * @param maxConnections control connections open at once, from everyone
 * @param connectionsPerAddress control connections open at once per source address
 * @param lookupsPerSecond name look-ups (CONNECTs, known names or not, and REGISTERs) per second
 *     per address
 * @param lookupBurst look-ups in a burst per address
 * @param tokensPerSecond relay tokens minted (one per CONNECT that reaches a share) per second per
 *     address
 * @param tokenBurst tokens in a burst per address
 * @param sharesPerAddress live shares (REGISTERed control connections) and names reserved after
 *     their share left ({@link ShareRegistry}) per address
 */
public record ClientLimits(
        int maxConnections,
        int connectionsPerAddress,
        int lookupsPerSecond,
        int lookupBurst,
        int tokensPerSecond,
        int tokenBurst,
        int sharesPerAddress) {

    /**
     * Control connections open at once, from all clients: at most this, and at most a quarter of
     * the process's descriptors ({@link #defaultMaxConnections}), so that a flood of idle or
     * kept-alive connections leaves descriptors for the embedded relay, the STUN socket, logs and
     * the JVM, and the server keeps accepting (and closing) instead of failing in accept.
     */
    public static final int MAX_CONNECTIONS = 16_384;

    /**
     * Control connections open at once per source address. Each share or connector holds one; 128
     * lets a large NAT's users share and connect, while one host holds at most 1/128 of {@link
     * #MAX_CONNECTIONS}.
     */
    public static final int CONNECTIONS_PER_ADDRESS = 128;

    /**
     * Name look-ups per second per source address, and the burst. A connector asks once, then once
     * per retry (2 s) or per second while it waits for its share; a guesser is held to 10 a second,
     * under a million a day, against 36,864,000 names. A REGISTER spends one too (a share asks once
     * per connection to the rendezvous), so that one address cannot register and leave in a loop.
     */
    public static final int LOOKUPS_PER_SECOND = 10, LOOKUP_BURST = 20;

    /**
     * Relay tokens minted per second per source address, and the burst. A token lives 60 s, so one
     * address holds at most 10 + 2 × 60 = 130 live tokens, a small part of the relay's pairing
     * table (100,000).
     */
    public static final int TOKENS_PER_SECOND = 2, TOKEN_BURST = 10;

    /** Live shares, and names reserved for shares that left, per source address. */
    public static final int SHARES_PER_ADDRESS = 32;

    /**
     * Live shares and reserved names per IPv6 /48 (a site), besides each /64's {@link
     * #SHARES_PER_ADDRESS}. A reservation outlives its connection by 5 min, so without it one /48
     * (65,536 /64s) registering and leaving filled the server's table of addresses: no share from a
     * new address registered, and a share that dropped got no reservation for its name.
     */
    public static final int SHARES_PER_V6_SITE = 256;

    public ClientLimits {
        if (maxConnections < 1
                || connectionsPerAddress < 1
                || lookupsPerSecond < 1
                || lookupBurst < 1
                || tokensPerSecond < 1
                || tokenBurst < 1
                || sharesPerAddress < 1) throw new IllegalArgumentException("limits " + this);
    }

    /** The constants above. */
    public static ClientLimits defaults() {
        return new ClientLimits(
                defaultMaxConnections(),
                CONNECTIONS_PER_ADDRESS,
                LOOKUPS_PER_SECOND,
                LOOKUP_BURST,
                TOKENS_PER_SECOND,
                TOKEN_BURST,
                SHARES_PER_ADDRESS);
    }

    /**
     * For a test lab or a benchmark whose every client connects from one address: the global cap as
     * usual, each per-address budget as large as it.
     */
    public static ClientLimits oneAddressLab() {
        int all = defaultMaxConnections();
        return new ClientLimits(all, all, 100_000, 100_000, 100_000, 100_000, all);
    }

    /**
     * {@link #MAX_CONNECTIONS}, or a quarter of the process's descriptors if that is lower (the
     * embedded relay takes half: {@link ConnectionBudget#fromDescriptors}).
     */
    static int defaultMaxConnections() {
        return ConnectionBudget.fromDescriptors(4, MAX_CONNECTIONS);
    }
}
