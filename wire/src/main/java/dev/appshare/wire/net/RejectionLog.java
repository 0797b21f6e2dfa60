package dev.appshare.wire.net;

import java.net.InetAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;

/**
 * Logs refused clients without letting a flood flood the log: the first refusal is logged at once,
 * later ones are counted and logged as one line at most once per interval ("refused 1,234 ... in
 * the last 10 s"). {@link #flush} logs a count still pending once the interval has passed; call it
 * periodically so the tail of a flood is reported too. Thread-safe.
 */
public final class RejectionLog {
    /** At most one line per this long. */
    public static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final String what;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final Consumer<String> sink;
    private boolean loggedOnce;
    private long lastLine;
    private long pending;
    private long lines;
    private String lastReason;
    private InetAddress lastFrom;

    /**
     * {@code what} names what was refused, e.g. "relay connections". Logs to {@code log} at WARN.
     */
    public RejectionLog(Logger log, String what) {
        this(what, INTERVAL_NANOS, System::nanoTime, log::warn);
    }

    public RejectionLog(
            String what, long intervalNanos, LongSupplier nanoTime, Consumer<String> sink) {
        this.what = what;
        this.intervalNanos = intervalNanos;
        this.nanoTime = nanoTime;
        this.sink = sink;
    }

    /** One client refused, for a reason (e.g. "per-address budget of 128"). */
    public synchronized void reject(InetAddress from, String reason) {
        pending++;
        lastFrom = from;
        lastReason = reason;
        flush();
    }

    /** Logs the pending count if there is one and the interval since the last line has passed. */
    public synchronized void flush() {
        long now = nanoTime.getAsLong();
        if (pending == 0 || (loggedOnce && now - lastLine < intervalNanos)) return;
        sink.accept(
                String.format(
                        "refused %,d %s in the last %d s (last from %s: %s)",
                        pending,
                        what,
                        TimeUnit.NANOSECONDS.toSeconds(intervalNanos),
                        lastFrom.getHostAddress(),
                        lastReason));
        loggedOnce = true;
        lastLine = now;
        pending = 0;
        lines++;
    }

    /** Lines logged so far. */
    public synchronized long lines() {
        return lines;
    }
}
