package dev.appshare.relay;

import io.netty.channel.Channel;
import java.time.Clock;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Where the first connection with a token waits for the second. A token pairs once: after pairing
 * (or after its first holder gives up) it is remembered as spent until it expires, so it can never
 * pair again. Both maps are bounded; all access is synchronized (relay connections live on several
 * event loops).
 */
public final class PairingTable {
    public enum Outcome {
        WAITING,
        PAIRED,
        SPENT,
        FULL
    }

    public record Result(Outcome outcome, Channel partner) {}

    private final int maxEntries;
    private final Clock clock;
    private final Map<String, Channel> waiting = new HashMap<>();
    private final Map<String, Long> spent = new HashMap<>();
    private long lastPurge;

    public PairingTable(int maxEntries, Clock clock) {
        this.maxEntries = maxEntries;
        this.clock = clock;
    }

    public synchronized Result offer(String token, long expiry, Channel ch) {
        purgeExpired();
        if (spent.containsKey(token)) return new Result(Outcome.SPENT, null);
        Channel first = waiting.remove(token);
        if (first != null) {
            spent.put(token, expiry);
            // A holder that is already gone (its close not yet processed) has given the token up.
            return first.isActive()
                    ? new Result(Outcome.PAIRED, first)
                    : new Result(Outcome.SPENT, null);
        }
        if (waiting.size() + spent.size() >= maxEntries) return new Result(Outcome.FULL, null);
        waiting.put(token, ch);
        return new Result(Outcome.WAITING, null);
    }

    /**
     * The waiting connection gives up (closed or timed out): its token is spent too. Returns false
     * if a partner claimed it first (an {@link #offer} already returned it as PAIRED): that pairing
     * won, and its splice is on its way to the waiting connection.
     */
    public synchronized boolean abandon(String token, long expiry, Channel ch) {
        if (!waiting.remove(token, ch)) return false;
        spent.put(token, expiry);
        return true;
    }

    private void purgeExpired() {
        long now = clock.millis();
        if (now - lastPurge < 1000)
            return; // a full sweep at most once a second, even under a flood
        lastPurge = now;
        for (Iterator<Long> it = spent.values().iterator(); it.hasNext(); ) {
            if (it.next() <= now) it.remove();
        }
    }
}
