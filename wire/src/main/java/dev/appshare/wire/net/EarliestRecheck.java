package dev.appshare.wire.net;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjLongConsumer;

/**
 * One pending re-check of a budget, shared by threads of any event loop: a check asked for by a
 * given time is scheduled unless one is already due by then. A later one may stay scheduled; it
 * finds nothing to do or checks again, which is harmless, so the set of pending checks stays small
 * without cancelling any. Used by {@link HeldBytesBudget} and {@code PausedStreams}.
 */
public final class EarliestRecheck {
    private static final long NONE = Long.MAX_VALUE;
    private final AtomicLong due = new AtomicLong(NONE); // the earliest check scheduled

    /**
     * Runs {@code check} {@code nanos} from {@code now} through {@code scheduler} (task, delay in
     * nanoseconds), unless a check is already due by then.
     */
    public void schedule(
            long now, long nanos, ObjLongConsumer<Runnable> scheduler, Runnable check) {
        long at = now + nanos;
        for (; ; ) {
            long pending = due.get();
            if (pending != NONE && pending - at <= 0) return;
            if (due.compareAndSet(pending, at)) break;
        }
        scheduler.accept(
                () -> {
                    due.compareAndSet(at, NONE);
                    check.run();
                },
                nanos);
    }
}
