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
    void aNudgeWhileDirectCarriesIsForgotten() {
        run(5, true);
        r.nudge();
        assertEquals(List.of(), run(5, true));
        // and once it dies, the usual 5 s
        assertEquals(List.of(6L), run(8, false));
    }

    @Test
    void aPathThatFlapsDoesNotResetTheBackOff() {
        run(20, false); // the first negotiation failed: 1 failure
        for (int cycle = 0; cycle < 4; cycle++) {
            run(5, true); // a restart found a path that carried 5 s
            run(1, false);
        }
        assertTrue(r.failures() >= 1, "a path that carried < 30 s counts as no path");
        run(40, true);
        assertEquals(0, r.failures(), "30 s of carrying starts the back-off over");
    }

    @Test
    void theOtherPeersRestartIsJoinedAtMostEveryTwoSeconds() {
        assertTrue(r.joinsRemote(now));
        assertFalse(r.joinsRemote(now + 1_000));
        assertTrue(r.joinsRemote(now + 2_000));
        // a joined restart counts as one of ours: no restart of our own within 5 s of it
        now += 2_000;
        assertFalse(r.due(now + 1_000, false, false));
    }
}
