package dev.appshare.wire.net;

import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs refused clients at most once per interval, with a count, so that a flood of refusals costs a
 * line per interval rather than one per refusal (a log an attacker can fill is another resource to
 * exhaust). The first refusal after a quiet interval is logged at once; the ones within the
 * interval after it are counted and reported with the next line.
 */
public final class RejectionLog {
    /** One line per this interval at most, unless a server chooses otherwise. */
    public static final long INTERVAL_NANOS = 10_000_000_000L;

    private final Logger log;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private long lastLine;
    private boolean logged;
    private long suppressed;
    private long lines;

    public RejectionLog(Logger log, long intervalNanos, LongSupplier nanoTime) {
        this.log = log;
        this.intervalNanos = intervalNanos;
        this.nanoTime = nanoTime;
    }

    /**
     * Notes one refusal; logs it (INFO) with how many went unlogged since the last line, or only
     * counts it.
     *
     * @return true if a line was written
     */
    public synchronized boolean refused(String what, Object client) {
        long now = nanoTime.getAsLong();
        if (logged && now - lastLine < intervalNanos) {
            suppressed++;
            return false;
        }
        long before = suppressed;
        suppressed = 0;
        logged = true;
        lastLine = now;
        lines++;
        if (before == 0) log.info("refused {}: {}", client, what);
        else
            log.info(
                    "refused {}: {} (and {} more refusals since the last such line)",
                    client,
                    what,
                    before);
        return true;
    }

    /** Lines written so far. */
    public synchronized long lines() {
        return lines;
    }
}
