package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When a tunnel restarts ICE: ticks of one second on a clock of the test's own. */
class IceRestartsTest {
    private final IceRestarts r = new IceRestarts();
    private long now = 1_000_000; // ms

    /** Ticks every second for {@code seconds}; returns the seconds (from now) of each restart. */
    private List<Long> run(int seconds, boolean carries) {
        List<Long> at = new ArrayList<>();
        long t0 = now;
        for (int i = 0; i < seconds; i++) {
            now += 1_000;
            if (r.due(now, carries, false)) {
                at.add((now - t0) / 1_000);
                now += 1_000;
                r.due(now, carries, true); // the negotiation runs for a second
                i++;
            }
        }
        return at;
    }

    @Test
    void aDirectPathThatDiesIsLookedForAgainAfterFiveSeconds() {
        assertEquals(List.of(), run(60, true));
        // it dies: a restart 5 s after it stopped carrying (noticed at the next tick); each
        // restart then runs 2 s and finds nothing: the next 10, 20, 40 s after it ended
        List<Long> at = run(120, false);
        assertEquals(List.of(6L, 18L, 40L, 82L), at);
    }

    @Test
    void aFirstNegotiationThatFoundNothingIsRetriedWithABackOffUpToFiveMinutes() {
        List<Long> at = run(2_000, false);
        assertEquals(11L, at.get(0)); // the first tick sees the first negotiation ended
        for (int i = 1; i < at.size(); i++) {
            long gap = at.get(i) - at.get(i - 1);
            assertTrue(gap <= IceRestarts.MAX_RETRY_MILLIS / 1000 + 2, "gap " + gap);
            if (i < 5) assertEquals((10L << i) + 2, gap, "gap " + i + " of " + at);
        }
        assertTrue(at.size() < 12, "about a dozen restarts in 33 min: " + at);
    }

    @Test
    void neverWhileBusyNorAfterTheOtherPeerSaidOff() {
        for (int i = 0; i < 600; i++) assertFalse(r.due(now += 1_000, false, true));
        assertTrue(r.due(now += 1_000, false, false) || run(20, false).size() == 1);
        r.never();
        assertEquals(List.of(), run(3_600, false));
        assertFalse(r.joinsRemote(now));
    }

    @Test
    void aNudgeRestartsAtOnceWhateverTheBackOffButNotWithinTheGap() {
        run(400, false); // the back-off is long now
        assertTrue(r.failures() >= 4);
        r.nudge();
        assertTrue(r.due(now += 1_000, false, false), "the nudge restarts at the next tick");
        r.due(now += 1_000, false, true);
        r.nudge();
        assertFalse(r.due(now += 1_000, false, false), "not within 5 s of the last start");
        assertEquals(List.of(3L), run(3, false));
    }

    @Test
    void aNudgeEvenIfBusyEndsTheFirstNegotiation() {
        tick(3, false, true); // the first negotiation runs
        r.nudge();
        assertFalse(r.due(now += 1_000, false, true), "a plain nudge waits for it");
        r.nudgeEvenIfBusy();
        assertTrue(r.due(now += 1_000, false, true), "the control connection dropped: at once");
        tick(3, false, true); // the restart runs: no second one
        assertFalse(r.due(now += 1_000, false, false), "it ended: the back-off");
    }

    @Test
    void aNudgeWhileDirectCarriesIsForgotten() {
        run(40, true);
        r.nudge();
        assertEquals(List.of(), run(5, true));
        // and once it dies, the usual 5 s
        assertEquals(List.of(6L), run(8, false));
    }

    /** Ticks every second, no direct path, until a restart is due: the seconds it took. */
    private long untilRestart() {
        long t0 = now;
        while (!r.due(now += 1_000, false, false)) assertTrue(now - t0 < 3_600_000, "no restart");
        return (now - t0) / 1_000;
    }

    /** Ticks every second for {@code seconds} with the given state. */
    private void tick(int seconds, boolean carries, boolean busy) {
        for (int i = 0; i < seconds; i++) assertFalse(r.due(now += 1_000, carries, busy));
    }

    @Test
    void aPathThatKeepsDyingIsLookedForLessAndLessOften() {
        tick(40, true, false); // a path that carried 40 s: no failures
        assertEquals(0, r.failures());
        List<Long> gaps = new ArrayList<>();
        for (int cycle = 0; cycle < 6; cycle++) {
            gaps.add(untilRestart()); // it died; then a restart runs 2 s, finds a path
            tick(2, false, true); //    that carries 8 s and dies again
            tick(8, true, false);
        }
        assertEquals(6L, gaps.get(0), "the first death: 5 s");
        for (int i = 1; i < gaps.size(); i++)
            assertTrue(gaps.get(i) > gaps.get(i - 1), "each gap longer than the last: " + gaps);
        assertTrue(gaps.get(gaps.size() - 1) >= 160, "backing off towards 5 min: " + gaps);
        tick(40, true, false);
        assertEquals(0, r.failures(), "30 s of carrying starts the back-off over");
    }

    @Test
    void theOtherPeersRestartsAreJoinedAtMostEveryTwoSecondsAndTenInARow() {
        assertTrue(r.joinsRemote(now));
        assertFalse(r.joinsRemote(now + 1_000));
        assertTrue(r.joinsRemote(now + 2_000));
        // a peer that asks every 2 s: 10 in a row, then about one a minute
        int joined = 2;
        long t = now + 2_000;
        for (int i = 0; i < 300; i++) if (r.joinsRemote(t += 2_000)) joined++; // 10 minutes
        assertTrue(joined >= 10 + 9 && joined <= 10 + 11, "joined " + joined + " in 10 min");
        // a joined restart counts as one of ours: no restart of our own within 5 s of it
        IceRestarts fresh = new IceRestarts();
        assertTrue(fresh.joinsRemote(t));
        assertFalse(fresh.due(t + 1_000, false, false));
        assertFalse(fresh.due(t + 4_000, false, false));
    }
}
