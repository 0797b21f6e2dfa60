package dev.appshare.wire.net;

import java.util.function.LongSupplier;

/**
 * How many lines of one kind a process writes per interval: the first {@code lines} in each
 * interval are written, the rest only counted, and the count is given with the next line written.
 * For events a user wants to see one by one at a human rate (a connection through their share
 * closed), but that a peer could otherwise make into a flood. Thread-safe.
 */
public final class LineBudget {
    private final int lines;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private long windowStart;
    private boolean started;
    private int written;
    private long skipped;

    /** Lines per {@link RejectionLog#INTERVAL_NANOS} of {@link #atHumanRate()}. */
    public static final int LINES_PER_INTERVAL = 20;

    public LineBudget(int lines, long intervalNanos, LongSupplier nanoTime) {
        this.lines = lines;
        this.intervalNanos = intervalNanos;
        this.nanoTime = nanoTime;
    }

    /** {@link #LINES_PER_INTERVAL} lines per {@link RejectionLog#INTERVAL_NANOS}. */
    public static LineBudget atHumanRate() {
        return new LineBudget(LINES_PER_INTERVAL, RejectionLog.INTERVAL_NANOS, System::nanoTime);
    }

    /**
     * What a line adds when {@code skipped} (a {@link #take()}) lines were not written before it.
     */
    public static String since(long skipped, String what) {
        return skipped > 0 ? " (" + skipped + " more " + what + " since the last such line)" : "";
    }

    /**
     * One event: -1 if its line is not to be written (it is counted), else how many lines were not
     * written since the last one that was (0 usually).
     */
    public synchronized long take() {
        long now = nanoTime.getAsLong();
        if (!started || now - windowStart >= intervalNanos) {
            started = true;
            windowStart = now;
            written = 0;
        }
        if (written >= lines) {
            skipped++;
            return -1;
        }
        written++;
        long before = skipped;
        skipped = 0;
        return before;
    }
}
