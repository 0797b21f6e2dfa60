package dev.appshare.relay;

import io.netty.util.internal.PlatformDependent;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The relay-wide budget for bytes the relay holds queued for readers that do not keep up.
 *
 * <p>Each direction of a splice holds at most its write high-water mark plus one read ({@link
 * RelayServer#MAX_READ}), about 320 KiB: cheap for one, but a holder of relay tokens can stall many
 * (128 connections per address, from many addresses) and together they would take all of the direct
 * memory every splice and the rendezvous in the same process allocate from. So the relay counts
 * every queued byte ({@link HeldBytesHandler}), and when the sum passes this budget it closes the
 * pairs whose reader has held its direction unwritable the longest, oldest first, until the sum is
 * back under seven eighths of the budget. Only a direction unwritable for at least {@link
 * #MIN_STALL_NANOS} without a break can be chosen: a reader that takes its bytes at even a few
 * hundred kbit/s drains below the low-water mark and starts a new stall well within it, so only
 * readers that (nearly) stopped are ever closed, and only while memory is short. A reader that
 * trickles just enough to keep the idle timer away stays unwritable and is the first chosen.
 *
 * <p>The check runs when a direction turns unwritable (the only way the sum grows past a few reads
 * per splice), at most once per {@link #SCAN_INTERVAL_NANOS}, and again once the youngest stall
 * could have become old enough. It looks only at the directions unwritable now.
 */
final class HeldBytesBudget {
    /** Share of netty's direct-memory limit the budget takes: the rest is for everything else. */
    static final int SHARE_OF_DIRECT_PERCENT = 50;

    /** A direction unwritable for less than this is never closed for memory. */
    static final long MIN_STALL_NANOS = 10_000_000_000L;

    /** The scan of stalled directions runs at most this often. */
    static final long SCAN_INTERVAL_NANOS = 100_000_000L;

    private final long budget;
    private final long minStallNanos;
    private final LongSupplier nanoTime;
    private final LongAdder held;
    private final Set<HeldBytesHandler> stalled = ConcurrentHashMap.newKeySet();
    private final AtomicLong nextScan;
    private final AtomicBoolean recheckPending = new AtomicBoolean();
    private final LongAdder evicted = new LongAdder();
    private final Evictions log;

    /** Told of each pair closed for memory, before it closes. */
    interface Evictions {
        void evicted(SocketAddress reader, long stallNanos, long queuedBytes, long budget);
    }

    /** Half of netty's direct-memory limit, counting into {@code held} (a gauge's source). */
    static HeldBytesBudget ofDirectMemory(LongAdder held, Evictions log) {
        long budget = PlatformDependent.maxDirectMemory() / 100 * SHARE_OF_DIRECT_PERCENT;
        return new HeldBytesBudget(budget, MIN_STALL_NANOS, System::nanoTime, held, log);
    }

    HeldBytesBudget(
            long budget, long minStallNanos, LongSupplier nanoTime, LongAdder held, Evictions log) {
        this.budget = budget;
        this.minStallNanos = minStallNanos;
        this.nanoTime = nanoTime;
        this.held = held;
        this.log = log;
        this.nextScan = new AtomicLong(nanoTime.getAsLong());
    }

    long budget() {
        return budget;
    }

    /** Bytes queued on all spliced connections now. */
    long held() {
        return held.sum();
    }

    /** Pairs closed for memory since start. */
    long evicted() {
        return evicted.sum();
    }

    long nanoTime() {
        return nanoTime.getAsLong();
    }

    void add(long bytes) {
        held.add(bytes);
    }

    /** {@code h}'s direction turned unwritable: remember it, and check the budget. */
    void stalled(HeldBytesHandler h, Scheduler recheck) {
        stalled.add(h);
        check(recheck, false);
    }

    /** {@code h}'s direction drained or closed. */
    void moving(HeldBytesHandler h) {
        stalled.remove(h);
    }

    /** Runs {@code task} after {@code nanos} (on some event loop). */
    interface Scheduler {
        void schedule(Runnable task, long nanos);
    }

    /**
     * If over budget, closes the longest stalls, oldest first, until the sum is under 7/8 of the
     * budget. While over budget with stalls too young to close, checks again once the oldest of
     * them is old enough. {@code force}: the scheduled check, which runs even if a scan just ran
     * (there is at most one pending).
     */
    void check(Scheduler recheck, boolean force) {
        if (held.sum() <= budget) return;
        long now = nanoTime.getAsLong();
        long due = nextScan.get();
        if (force) nextScan.set(now + SCAN_INTERVAL_NANOS);
        else if (now - due < 0 || !nextScan.compareAndSet(due, now + SCAN_INTERVAL_NANOS)) return;
        List<HeldBytesHandler> old = new ArrayList<>();
        long youngest = Long.MAX_VALUE; // stall age still missing, over the too-young ones
        for (HeldBytesHandler h : stalled) {
            long since = h.unwritableSince();
            if (since == HeldBytesHandler.WRITABLE) continue;
            long age = now - since;
            if (age >= minStallNanos) old.add(h);
            else youngest = Math.min(youngest, minStallNanos - age);
        }
        old.sort(Comparator.comparingLong(HeldBytesHandler::unwritableSince));
        long excess = held.sum() - budget / 8 * 7;
        for (HeldBytesHandler h : old) {
            if (excess <= 0) break;
            long queued = h.held();
            excess -= queued;
            stalled.remove(h);
            evicted.increment();
            log.evicted(h.reader(), now - h.unwritableSince(), queued, budget);
            h.evict();
        }
        if (excess > 0 && youngest != Long.MAX_VALUE && recheckPending.compareAndSet(false, true)) {
            recheck.schedule(
                    () -> {
                        recheckPending.set(false);
                        check(recheck, true);
                    },
                    Math.max(youngest, SCAN_INTERVAL_NANOS));
        }
    }
}
