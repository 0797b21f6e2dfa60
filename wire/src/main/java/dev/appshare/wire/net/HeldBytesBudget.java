package dev.appshare.wire.net;

import io.netty.util.internal.PlatformDependent;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * A server's budget for the bytes it holds queued for connections whose readers do not keep up: the
 * relay's spliced pairs and the gateway's visitors, one budget per process.
 *
 * <p>Each such connection holds at most its write high-water mark plus one read (about 320 KiB on
 * the relay), cheap for one; but strangers can stall many (128 connections per address, from many
 * addresses), and together they would take the direct memory every connection of the process (the
 * rendezvous's too) allocates from. So each counts what is queued for it ({@link
 * HeldBytesHandler}), and past two limits the server resets the connections (with a relay pair's
 * partner):
 *
 * <ul>
 *   <li><b>the budget</b> (half of netty's direct-memory limit): the pairs with a direction that
 *       has held bytes while its socket took none of them for at least {@link #MIN_STALL_NANOS},
 *       longest first, until the sum is under 7/8 of the budget. A reader that stopped, writable or
 *       not, ages; one that takes anything, even part of a buffer, does not. Nothing is reset for a
 *       stall younger than that, so a burst of fresh stalls may pass the budget for that long;
 *   <li><b>the ceiling</b> (three quarters of the limit): the pairs holding the most (in 64 KiB
 *       steps, the longest waiting first within one), whatever their age, until the sum is under
 *       7/8 of the ceiling. This is the line that keeps the process alive when many fresh stalls
 *       arrive at once, or when readers that take a little now and then (and so never age) hold too
 *       much together: any policy that tells slow readers from attackers can be imitated by an
 *       attacker who reads as slowly, so past the ceiling the server frees memory where it is most.
 * </ul>
 *
 * <p>The check runs when a write takes the sum past the budget, at most once per {@link
 * #SCAN_INTERVAL_NANOS} (past the ceiling, once per {@link #CEILING_SCAN_INTERVAL_NANOS}), and is
 * scheduled again while the sum stays over, so a stall that ages without another write is still
 * found. It looks only at connections holding bytes now, one scan at a time.
 */
public final class HeldBytesBudget {
    /** Share of netty's direct-memory limit the budget takes. */
    static final int BUDGET_PERCENT = 50;

    /** Share of the limit past which pairs are reset whatever their age. */
    static final int CEILING_PERCENT = 75;

    /** A direction is reset under the budget only after its socket took none of it this long. */
    static final long MIN_STALL_NANOS = 10_000_000_000L;

    /** The scan runs at most this often while over the budget. */
    static final long SCAN_INTERVAL_NANOS = 100_000_000L;

    /** ... and at most this often while over the ceiling. */
    static final long CEILING_SCAN_INTERVAL_NANOS = 10_000_000L;

    private final long budget;
    private final long ceiling;
    private final long minStallNanos;
    private final LongSupplier nanoTime;
    private final LongAdder held;
    private final Set<HeldBytesHandler> holding = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean scanning = new AtomicBoolean();
    private final AtomicLong lastScan; // any scan
    private final AtomicLong lastCeilingScan; // a scan past the ceiling
    private final EarliestRecheck rechecks = new EarliestRecheck();
    private final LongAdder evicted = new LongAdder();

    /**
     * Told of each connection (or pair) reset for memory, just before it is reset (on its loop).
     */
    public interface Evictions {
        void evicted(
                SocketAddress reader,
                long stallNanos,
                long queuedBytes,
                boolean pastCeiling,
                long limit);
    }

    /**
     * The refusal line's text for a reset {@link Evictions} heard of: {@code what} (e.g. "its
     * connection") was reset, and why, in the words of the limit that was passed.
     */
    public static String resetReason(
            String what, long stallNanos, long queuedBytes, boolean pastCeiling, long limit) {
        return what
                + " ("
                + (queuedBytes >> 10)
                + " KiB queued for it, "
                + (pastCeiling
                        ? "among the most) while the server holds more than its ceiling of "
                        : "its reader took none for "
                                + TimeUnit.NANOSECONDS.toMillis(stallNanos)
                                + " ms) while the server holds more than its budget of ")
                + (limit >> 20)
                + " MiB for slow readers: reset";
    }

    /** Runs {@code task} after {@code nanos} (on some event loop). */
    public interface Scheduler {
        void schedule(Runnable task, long nanos);
    }

    /** From netty's direct-memory limit, counting into {@code held} (a gauge's source). */
    public static HeldBytesBudget ofDirectMemory(LongAdder held) {
        long limit = PlatformDependent.maxDirectMemory();
        return new HeldBytesBudget(
                limit / 100 * BUDGET_PERCENT,
                limit / 100 * CEILING_PERCENT,
                MIN_STALL_NANOS,
                System::nanoTime,
                held);
    }

    /** With limits of its own (tests use small ones). */
    public HeldBytesBudget(
            long budget, long ceiling, long minStallNanos, LongSupplier nanoTime, LongAdder held) {
        this.budget = budget;
        this.ceiling = ceiling;
        this.minStallNanos = minStallNanos;
        this.nanoTime = nanoTime;
        this.held = held;
        long longAgo = nanoTime.getAsLong() - TimeUnit.DAYS.toNanos(1);
        this.lastScan = new AtomicLong(longAgo);
        this.lastCeilingScan = new AtomicLong(longAgo);
    }

    public long budget() {
        return budget;
    }

    public long ceiling() {
        return ceiling;
    }

    /** Bytes queued on all the connections it counts now. */
    public long held() {
        return held.sum();
    }

    /** Connections (or pairs) reset for memory since start. */
    public long evicted() {
        return evicted.sum();
    }

    long nanoTime() {
        return nanoTime.getAsLong();
    }

    /** {@code h} queued {@code bytes} more. */
    void queued(HeldBytesHandler h, long bytes) {
        held.add(bytes);
        holding.add(h);
    }

    /** After a write: past the budget, a check (rate-limited). */
    void checkIfOver(Scheduler recheck) {
        if (held.sum() > budget) check(recheck);
    }

    /** {@code bytes} queued on {@code h} were written or dropped; {@code empty}: none left. */
    void released(HeldBytesHandler h, long bytes, boolean empty) {
        held.add(-bytes);
        if (empty) holding.remove(h);
    }

    /** One connection holding bytes, as the scan saw it. */
    private record Holder(HeldBytesHandler h, long waitingSince, long queued) {}

    /**
     * If over the budget, resets pairs as the class comment says, and schedules the next check
     * while still over.
     */
    void check(Scheduler recheck) {
        long sum = held.sum();
        if (sum <= budget) return;
        long now = nanoTime.getAsLong();
        boolean pastCeiling = sum > ceiling;
        AtomicLong last = pastCeiling ? lastCeilingScan : lastScan;
        long interval = pastCeiling ? CEILING_SCAN_INTERVAL_NANOS : SCAN_INTERVAL_NANOS;
        long wait = last.get() + interval - now;
        if (wait > 0) { // scanned just now: look again when allowed, in case nothing else does
            scheduleRecheck(recheck, now, wait);
            return;
        }
        if (!scanning.compareAndSet(false, true)) { // another loop scans: look again after it
            scheduleRecheck(recheck, now, interval);
            return;
        }
        try {
            lastScan.set(now);
            if (pastCeiling) lastCeilingScan.set(now);
            scan(now, sum, pastCeiling, recheck);
        } finally {
            scanning.set(false);
        }
    }

    private void scan(long now, long sum, boolean pastCeiling, Scheduler recheck) {
        // A snapshot: other loops change these fields while we sort.
        List<Holder> candidates = new ArrayList<>();
        long releasing = 0; // already being reset: will leave the sum
        long untilOldEnough = Long.MAX_VALUE;
        for (HeldBytesHandler h : holding) {
            long queued = h.held();
            if (queued <= 0) continue;
            if (h.evicting()) {
                releasing += queued;
                continue;
            }
            long since = h.waitingSince();
            long age = now - since;
            if (pastCeiling || age >= minStallNanos) candidates.add(new Holder(h, since, queued));
            else untilOldEnough = Math.min(untilOldEnough, minStallNanos - age);
        }
        // Past the ceiling: by size, in 64 KiB steps (a stalled and a busy direction both top out
        // near the mark plus one read), and the longest waiting first within a step.
        candidates.sort(
                pastCeiling
                        ? Comparator.comparingLong((Holder c) -> -(c.queued() >> 16))
                                .thenComparingLong(Holder::waitingSince)
                        : Comparator.comparingLong(Holder::waitingSince));
        long limit = pastCeiling ? ceiling : budget;
        long excess = sum - releasing - limit / 8 * 7;
        for (Holder c : candidates) {
            if (excess <= 0) break;
            if (!c.h().startEvicting()) continue; // its partner was chosen already
            excess -= c.queued() + c.h().partnerHeld();
            long stall = now - c.waitingSince();
            c.h().evict(
                            pastCeiling ? HeldBytesHandler.ANY_AGE : c.waitingSince(),
                            () -> {
                                evicted.increment();
                                c.h().log()
                                        .evicted(
                                                c.h().reader(),
                                                stall,
                                                c.queued(),
                                                pastCeiling,
                                                limit);
                            });
        }
        if (excess > 0 || held.sum() - releasing > budget) {
            long wait = pastCeiling ? CEILING_SCAN_INTERVAL_NANOS : SCAN_INTERVAL_NANOS;
            if (!pastCeiling && untilOldEnough != Long.MAX_VALUE)
                wait = Math.max(wait, untilOldEnough);
            scheduleRecheck(recheck, now, wait);
        }
    }

    /** A check {@code nanos} from {@code now}, unless one is already due by then. */
    private void scheduleRecheck(Scheduler recheck, long now, long nanos) {
        rechecks.schedule(now, nanos, recheck::schedule, () -> check(recheck));
    }
}
