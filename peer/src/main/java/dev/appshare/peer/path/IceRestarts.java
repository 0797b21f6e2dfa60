package dev.appshare.peer.path;

/**
 * When a tunnel runs ICE again (an "ICE restart": new credentials, a new gathering, new checks, the
 * signals inside the tunnel). A tunnel on the relay keeps looking for a direct path, without
 * hammering a network where none exists:
 *
 * <ul>
 *   <li>a direct path that carried and stopped answering: a restart {@value #DEAD_MILLIS} ms after
 *       it stopped carrying (the path layer itself revives a path that comes back as it was; a
 *       restart finds one whose addresses changed: a NAT that lost its mapping, a new network);
 *   <li>a negotiation (the first one or a restart) that ended with no direct path carrying: the
 *       next one {@value #FIRST_RETRY_MILLIS} ms later, doubling each time up to {@value
 *       #MAX_RETRY_MILLIS} ms; the back-off starts over once a direct path has carried for {@value
 *       #STABLE_MILLIS} ms, and a path a restart found that carried less than that before it died
 *       counts as none, so a path that flaps is restarted less and less often;
 *   <li>a nudge (this machine's addresses changed; the control connection came back after a drop,
 *       when signals of the first negotiation may have been lost): the next tick, whatever the
 *       back-off, which starts over;
 *   <li>never while a negotiation, a birthday search or the proving of a found pair runs, never
 *       within {@value #MIN_GAP_MILLIS} ms of the last start, and never once the other peer said it
 *       takes no direct path ({@code ice=off}: it runs with --transport relay).
 * </ul>
 *
 * The other peer may restart too: its restart is joined unless this side joined or started one less
 * than {@value #REMOTE_GAP_MILLIS} ms ago or the other peer spent its allowance ({@link
 * #joinsRemote}); a peer refused is told {@code ice=busy}, once per restart. Pure state, driven by
 * the tunnel's event loop: every call passes the loop's time in ms.
 */
public final class IceRestarts {
    public static final long DEAD_MILLIS = 5_000;
    public static final long FIRST_RETRY_MILLIS = 10_000;
    public static final long MAX_RETRY_MILLIS = 300_000;
    public static final long STABLE_MILLIS = 30_000;
    public static final long MIN_GAP_MILLIS = 5_000;
    public static final long REMOTE_GAP_MILLIS = 2_000;
    public static final int JOIN_BURST = 10;
    public static final long JOIN_REFILL_MILLIS = 60_000;

    private boolean never;
    private boolean busySeen = true; // the first negotiation runs (or ran) before the first tick
    private boolean carrying;
    private long carriedSince;
    private int failures;
    private long retryAt;
    private boolean nudged;
    private boolean preempt; // the nudge ends a running negotiation
    private boolean started; // lastStart is set
    private boolean restartedSinceStable; // a restart ran since a path last carried STABLE_MILLIS
    private long lastStart;
    private double joins = JOIN_BURST; // the other peer's restarts this side may still join
    private boolean joinsCounted; // joinsAt is set
    private long joinsAt;

    /**
     * Called every tick: whether to restart now. {@code carries}: a direct path carries the tunnel;
     * {@code busy}: a negotiation, a search or a proving runs.
     */
    boolean due(long now, boolean carries, boolean busy) {
        if (never) return false;
        if (busy && !(nudged && preempt)) {
            busySeen = true;
            return false;
        }
        if (busySeen) { // a negotiation ended since the last tick
            busySeen = false;
            if (!carries) retryAt = now + backoff(++failures);
        }
        if (carries) {
            if (!carrying) carriedSince = now;
            carrying = true;
            if (now - carriedSince >= STABLE_MILLIS) {
                failures = 0;
                restartedSinceStable = false;
            }
            nudged = false;
            return false;
        }
        if (carrying) { // it stopped answering
            carrying = false;
            // a restart's path that carried less than STABLE_MILLIS counts as no path: one that
            // keeps dying is looked for less and less often
            if (now - carriedSince < STABLE_MILLIS && restartedSinceStable) failures++;
            retryAt = now + (failures == 0 ? DEAD_MILLIS : backoff(failures));
        }
        if (started && now - lastStart < MIN_GAP_MILLIS) return false;
        if (!nudged && now < retryAt) return false;
        nudged = false;
        preempt = false;
        markStarted(now);
        return true;
    }

    /** Restart at the next tick whatever the back-off, which starts over. */
    void nudge() {
        nudged = true;
        failures = 0;
    }

    /**
     * As {@link #nudge}, and even while a negotiation runs (it is ended): the first negotiation,
     * signalled over the rendezvous, cannot finish once a control connection dropped (what was on
     * the way is lost).
     */
    void nudgeEvenIfBusy() {
        nudge();
        preempt = true;
    }

    /**
     * The other peer starts a restart: whether this side joins it. Not within {@value
     * #REMOTE_GAP_MILLIS} ms of the last start, and at most {@value #JOIN_BURST} in a row, then one
     * per {@value #JOIN_REFILL_MILLIS} ms: the other peer's own back-off keeps it far below that,
     * so only a peer that ignores it (it holds the code, but may be hostile) is refused, and it
     * cannot make this side run ICE more than about once a minute.
     */
    boolean joinsRemote(long now) {
        if (never || (started && now - lastStart < REMOTE_GAP_MILLIS)) return false;
        if (joinsCounted) {
            joins = Math.min(JOIN_BURST, joins + (double) (now - joinsAt) / JOIN_REFILL_MILLIS);
        }
        joinsCounted = true;
        joinsAt = now;
        if (joins < 1) return false;
        joins--;
        markStarted(now);
        return true;
    }

    /** The other peer takes no direct path: never restart. */
    void never() {
        never = true;
    }

    /** Restarts that ended with no direct path since one last carried long enough. */
    int failures() {
        return failures;
    }

    private void markStarted(long now) {
        restartedSinceStable = true;
        started = true;
        lastStart = now;
        busySeen = true; // whatever happens next (even no session at all) counts as its end
    }

    private static long backoff(int failures) {
        return Math.min(MAX_RETRY_MILLIS, FIRST_RETRY_MILLIS << Math.min(failures - 1, 16));
    }
}
