package dev.appshare.wire.tunnel;

import dev.appshare.wire.net.EarliestRecheck;
import io.netty.channel.Channel;
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
 * A process's bound on the QUIC streams it has stopped reading because the socket they feed takes
 * nothing: a paused download in a browser, a visitor who went away without closing, an application
 * that does not read what it is sent.
 *
 * <p><b>Why it exists.</b> The tunnels run without a connection-wide flow-control window ({@code
 * TunnelCodecs.MAX_DATA}). quiche counts a stream's received but unread bytes against the
 * connection's window and renews the window only when less than half of it is left, so with a 24
 * MiB window two or three streams nobody read (6 MiB each, up to 16 MiB once quiche has widened the
 * window of a fast reader) froze every other connection of the tunnel, the user's ssh session with
 * the paused download. Each stream is still bounded by its own window; what a tunnel buffers is
 * then bounded by the number of streams paused, and this class bounds that number for the process:
 *
 * <ul>
 *   <li><b>the budget</b> ({@link #BUDGET} streams): past it, the streams paused for at least
 *       {@link #MIN_STALL_NANOS} are reset, the longest paused first, down to the budget;
 *   <li><b>the ceiling</b> ({@link #CEILING} streams): past it, those paused for at least {@link
 *       #CEILING_MIN_STALL_NANOS}, down to the ceiling, so that many pauses at once cannot hold
 *       much more than the ceiling's worth for long.
 * </ul>
 *
 * <p>"Paused" is the socket's writability: a reader slower than the tunnel turns its socket
 * unwritable too (quiche holds its window then as well), so it counts. But writability is coarse:
 * the kernel's send buffer grows to a few MiB and the socket turns writable again only once about a
 * third of it is sent, so a reader taking 256 KiB a second leaves it unwritable for seconds while
 * it reads all along. Before a reset, the socket's own loop therefore asks the kernel when it last
 * sent the reader anything (TCP_INFO, on epoll): if within the stall required, the reader is slow,
 * not stopped, and counts as paused from then. So a reader is reset only if the kernel sent it
 * nothing for 10 s (past the budget) or a second (past the ceiling); without TCP_INFO (NIO, HTTP/2
 * streams) only writability tells. Any rule that tells slow readers from stopped ones can be
 * imitated by someone who reads just as slowly; this one at least spares the ordinary ones.
 *
 * <p>A reset is of the socket (a TCP reset; a reset HTTP/2 stream at the gateway), and the splice
 * or the gateway then aborts the QUIC stream (RESET_STREAM and STOP_SENDING), which frees what
 * quiche held for it. The socket counts until it has closed. The check runs when a socket pauses,
 * at most once per {@link #SCAN_INTERVAL_NANOS}, and is scheduled again while over the budget, so a
 * pause that ages without another is still found. Thread-safe: sockets of any event loop report to
 * one instance.
 */
public final class PausedStreams {
    /** Paused streams past which the ones paused {@link #MIN_STALL_NANOS} are reset. */
    public static final int BUDGET = 16;

    /** Paused streams past which those paused {@link #CEILING_MIN_STALL_NANOS} are reset. */
    public static final int CEILING = 32;

    /** Under the ceiling, a stream is reset only once its socket took nothing for this long. */
    public static final long MIN_STALL_NANOS = 10_000_000_000L;

    /** Past the ceiling, a stream is reset once its socket took nothing for this long. */
    public static final long CEILING_MIN_STALL_NANOS = 1_000_000_000L;

    /** The scan runs at most this often. */
    static final long SCAN_INTERVAL_NANOS = 100_000_000L;

    private final int budget;
    private final int ceiling;
    private final long minStallNanos;
    private final long ceilingMinStallNanos;
    private final LongSupplier nanoTime;
    private final Resets log;
    private final Set<PauseWatch> paused = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean scanning = new AtomicBoolean();
    private final AtomicLong lastScan;
    private final EarliestRecheck rechecks = new EarliestRecheck();
    private final LongAdder resets = new LongAdder();

    /** Told of each socket reset for holding a paused stream, just before it is reset. */
    public interface Resets {
        void reset(
                SocketAddress reader,
                long pausedNanos,
                int pausedStreams,
                boolean pastCeiling,
                int limit);
    }

    /** The one-line text for a reset {@link Resets} heard of. */
    public static String resetReason(
            long pausedNanos, int pausedStreams, boolean pastCeiling, int limit) {
        return "it took nothing for "
                + TimeUnit.NANOSECONDS.toMillis(pausedNanos)
                + " ms while "
                + pausedStreams
                + " connections here were not reading, past "
                + (pastCeiling ? "the ceiling of " : "the budget of ")
                + limit
                + " (what the tunnel holds for them is bounded)";
    }

    /**
     * The process's default limits, each reset one WARN line in {@code log}: "{@code socket}
     * ADDRESS reset: why" (a peer's own clients or application: few, so not rate-limited).
     */
    public static PausedStreams warningTo(org.slf4j.Logger log, String socket) {
        return new PausedStreams(
                (reader, nanos, streams, pastCeiling, limit) ->
                        log.warn(
                                "{} {} reset: {}",
                                socket,
                                reader,
                                resetReason(nanos, streams, pastCeiling, limit)));
    }

    /** The process's default limits and clock. */
    public PausedStreams(Resets log) {
        this(BUDGET, CEILING, MIN_STALL_NANOS, CEILING_MIN_STALL_NANOS, System::nanoTime, log);
    }

    /** With limits and a clock of its own (tests). */
    public PausedStreams(
            int budget,
            int ceiling,
            long minStallNanos,
            long ceilingMinStallNanos,
            LongSupplier nanoTime,
            Resets log) {
        if (budget > ceiling || ceilingMinStallNanos > minStallNanos)
            throw new IllegalArgumentException("the ceiling must be the larger, and the quicker");
        this.budget = budget;
        this.ceiling = ceiling;
        this.minStallNanos = minStallNanos;
        this.ceilingMinStallNanos = ceilingMinStallNanos;
        this.nanoTime = nanoTime;
        this.log = log;
        this.lastScan = new AtomicLong(nanoTime.getAsLong() - TimeUnit.DAYS.toNanos(1));
    }

    /**
     * A new handler for the socket a stream's bytes are written to; put it in that socket's
     * pipeline.
     */
    public PauseWatch watch() {
        return new PauseWatch(this);
    }

    /** Streams paused now. */
    public int paused() {
        return paused.size();
    }

    /** Sockets reset so far. */
    public long resets() {
        return resets.sum();
    }

    long nanoTime() {
        return nanoTime.getAsLong();
    }

    void paused(PauseWatch w, Channel ch) {
        paused.add(w);
        if (paused.size() > budget) check(ch);
    }

    void resumed(PauseWatch w) {
        paused.remove(w);
    }

    /** One paused socket, as the scan saw it. */
    private record Paused(PauseWatch w, long since) {}

    /** If over the budget, resets as the class comment says; looks again later while over. */
    void check(Channel ch) {
        int count = paused.size();
        if (count <= budget) return;
        long now = nanoTime.getAsLong();
        if (now - lastScan.get() < SCAN_INTERVAL_NANOS || !scanning.compareAndSet(false, true)) {
            recheck(ch, now, SCAN_INTERVAL_NANOS); // scanned just now, or scanning elsewhere
            return;
        }
        long untilOldEnough = Long.MAX_VALUE;
        try {
            lastScan.set(now);
            // A snapshot: other loops pause and resume while we sort.
            List<Paused> all = new ArrayList<>();
            for (PauseWatch w : paused) {
                long since = w.pausedSince();
                if (since != PauseWatch.NOT_PAUSED && !w.resetting()) all.add(new Paused(w, since));
            }
            all.sort(Comparator.comparingLong(Paused::since));
            int left = all.size();
            for (Paused p : all) {
                if (left <= budget) break;
                long age = now - p.since();
                boolean pastCeiling = left > ceiling;
                long oldEnough = pastCeiling ? ceilingMinStallNanos : minStallNanos;
                if (age < oldEnough) {
                    untilOldEnough = oldEnough - age;
                    break; // sorted: the rest are younger
                }
                int seen = left;
                int limit = pastCeiling ? ceiling : budget;
                if (p.w().reset(
                                p.since(),
                                oldEnough,
                                () -> {
                                    resets.increment();
                                    log.reset(p.w().reader(), age, seen, pastCeiling, limit);
                                })) left--;
            }
        } finally {
            scanning.set(false);
        }
        if (paused.size() > budget)
            recheck(
                    ch,
                    now,
                    Math.max(SCAN_INTERVAL_NANOS, Math.min(untilOldEnough, minStallNanos)));
    }

    /**
     * A check {@code nanos} from {@code now} on {@code ch}'s loop, unless one is already due by
     * then.
     */
    private void recheck(Channel ch, long now, long nanos) {
        rechecks.schedule(
                now,
                nanos,
                (task, delay) -> ch.eventLoop().schedule(task, delay, TimeUnit.NANOSECONDS),
                () -> check(ch));
    }
}
