package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.path.DirectPath.State;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DirectPath's state machine on a clock of the test's own, ticked every 50 ms as PathSwitch does.
 */
class DirectPathTest {
    private static final long MS = 1_000_000;
    private static final long TICK_MS = 50;
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 40001);
    private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 40002);

    /** A probe DirectPath asked to send: its nonce and when. */
    record Probe(long nonce, long at) {}

    long now = 1_000 * MS;
    final DirectPath path = new DirectPath(LOCAL, REMOTE, "host <-> host", now);
    final List<Probe> probes = new ArrayList<>();

    /** One tick now; returns the probe it sent, or null. */
    Probe tick(boolean active) {
        long nonce = path.tick(now, active);
        if (nonce == 0) return null;
        Probe p = new Probe(nonce, now);
        probes.add(p);
        return p;
    }

    /** Lets {@code ms} pass in ticks, answering nothing; returns the probes sent meanwhile. */
    List<Probe> silence(long ms, boolean active) {
        List<Probe> sent = new ArrayList<>();
        for (long t = 0; t < ms; t += TICK_MS) {
            now += TICK_MS * MS;
            Probe p = tick(active);
            if (p != null) sent.add(p);
        }
        return sent;
    }

    /**
     * Lets {@code ms} pass in ticks, each probe answered {@code rttMs} later (a multiple of 50).
     */
    int answering(long ms, long rttMs, boolean active) {
        int sent = 0;
        for (long t = 0; t < ms; t += TICK_MS) {
            now += TICK_MS * MS;
            for (Probe p : List.copyOf(probes)) {
                if (now - p.at() == rttMs * MS) answer(p);
            }
            if (tick(active) != null) sent++;
            if (rttMs == 0 && !probes.isEmpty() && probes.get(probes.size() - 1).at() == now) {
                answer(probes.get(probes.size() - 1));
            }
        }
        return sent;
    }

    State answer(Probe p) {
        return path.answered(p.nonce(), now);
    }

    /** PROVING -> ALIVE with a first answer 10 ms after the first probe. */
    void alive() {
        Probe first = tick(false);
        now += 10 * MS;
        assertEquals(State.ALIVE, answer(first));
    }

    /** From ALIVE (idle), silence until DEAD: the next idle probe, then a second of silence. */
    void dead() {
        alive();
        silence(DirectPath.IDLE_PROBE_MILLIS + DirectPath.DEAD_AFTER_MILLIS + TICK_MS, false);
        assertEquals(State.DEAD, path.state());
    }

    static List<Long> gapsMillis(List<Probe> sent) {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < sent.size(); i++) {
            gaps.add((sent.get(i).at() - sent.get(i - 1).at()) / MS);
        }
        return gaps;
    }

    @Test
    void provingProbesEvery100MsAndTheFirstAnswerMakesItAliveWithItsRtt() {
        assertEquals(State.PROVING, path.state());
        assertFalse(path.carries());
        Probe first = tick(false);
        assertTrue(first != null && first.nonce() != 0, "probes at once");
        List<Probe> sent = silence(1_000, false);
        assertEquals(10, sent.size());
        assertEquals(List.of(100L), gapsMillis(sent).stream().distinct().toList());
        assertEquals(State.PROVING, path.state(), "silence while proving is not death");

        assertEquals(State.ALIVE, answer(sent.get(sent.size() - 2)));
        assertTrue(path.carries());
        assertEquals(100, path.rttMillis());
        assertTrue(path.describe().contains("127.0.0.1:40001 <-> 127.0.0.1:40002, rtt 100 ms"));
    }

    @Test
    void noAnswerWithinTheProvingLimitMakesItUnusableAndProbingStops() {
        tick(false);
        silence(DirectPath.PROVING_LIMIT_MILLIS, false);
        assertEquals(State.PROVING, path.state(), "exactly at the limit: still proving");
        silence(TICK_MS, false);
        assertEquals(State.UNUSABLE, path.state());
        assertFalse(path.carries());
        assertTrue(silence(10_000, true).isEmpty(), "no more probes");
    }

    @Test
    void aliveProbesEvery100MsWhileTrafficFlowsAndEvery2sWhenIdle() {
        alive();
        int active = answering(2_000, 0, true);
        assertEquals(20, active);
        int idle = answering(10_000, 0, false);
        assertEquals(5, idle);
        assertEquals(State.ALIVE, path.state());
        int activeAgain = answering(1_000, 0, true);
        assertEquals(10, activeAgain, "back to 100 ms as soon as traffic flows");
    }

    @Test
    void silenceMakesItDoubtAfter150MsAndDeadAfter1sMeasuredFromTheOldestUnansweredProbe() {
        alive();
        answering(1_000, 0, true);
        silence(100, true); // the probe at 100 ms goes unanswered: silence counts from it
        long firstUnanswered = probes.get(probes.size() - 1).at();
        assertEquals(now, firstUnanswered);

        silence(DirectPath.DOUBT_AFTER_MILLIS, true);
        assertEquals(State.ALIVE, path.state(), "150 ms of silence: not yet");
        silence(TICK_MS, true);
        assertEquals(State.DOUBT, path.state());
        assertTrue(path.carries(), "in doubt datagrams still go direct (and via the relay)");

        List<Probe> doubt = silence(DirectPath.DEAD_AFTER_MILLIS - 200, true);
        assertEquals(State.DOUBT, path.state(), "1 s of silence: not yet");
        assertEquals(List.of(100L), gapsMillis(doubt).stream().distinct().toList());
        silence(TICK_MS, true);
        assertEquals(State.DEAD, path.state());
        assertFalse(path.carries());
    }

    @Test
    void anAnswerEndsDoubt() {
        alive();
        List<Probe> unanswered = silence(300, true);
        assertEquals(State.DOUBT, path.state());
        assertEquals(State.ALIVE, answer(unanswered.get(0)), "even a late answer to an old probe");
        assertTrue(path.carries());
        assertEquals(1, answering(100, 0, true));
        assertEquals(State.ALIVE, path.state());
    }

    @Test
    void doubtAndDeathWaitLongerOnALongPath() {
        alive();
        answering(6_000, 200, true); // srtt converges on 200 ms: doubt after 800 ms, death 1.6 s
        assertEquals(200, path.rttMillis());
        long lastAnswered = now;
        while (path.state() == State.ALIVE) silence(TICK_MS, true);
        assertEquals(State.DOUBT, path.state());
        long doubtAfter = (now - lastAnswered) / MS;
        assertTrue(doubtAfter > 4 * 200, "doubt after " + doubtAfter + " ms");
        while (path.state() == State.DOUBT) silence(TICK_MS, true);
        long deadAfter = (now - lastAnswered) / MS;
        assertTrue(deadAfter > 8 * 200, "dead after " + deadAfter + " ms");
    }

    @Test
    void aDeadPathIsProbedLessAndLessOftenUpTo2s() {
        dead();
        List<Probe> sent = silence(12_000, true);
        List<Long> gaps = gapsMillis(sent);
        assertEquals(List.of(1_000L, 2_000L, 2_000L, 2_000L), gaps.subList(0, 4), "gaps " + gaps);
        assertEquals(
                List.of(DirectPath.DEAD_PROBE_MAX_MILLIS),
                gaps.subList(1, gaps.size()).stream().distinct().toList(),
                "never slower than 2 s: " + gaps);
        assertEquals(State.DEAD, path.state(), "silence on a dead path changes nothing");
    }

    @Test
    void aDeadPathsFirstProbeComes500MsAfterTheLastOneInDoubt() {
        alive();
        Probe lastInDoubt = null;
        while (path.state() != State.DEAD) {
            List<Probe> sent = silence(TICK_MS, true);
            if (!sent.isEmpty() && path.state() != State.DEAD) lastInDoubt = sent.get(0);
        }
        List<Probe> sent = silence(600, true);
        assertEquals(500, (sent.get(0).at() - lastInDoubt.at()) / MS);
    }

    @Test
    void oneAnswerDoesNotReviveADeadPathTwoDo() {
        dead();
        Probe p = silence(2_000, true).get(0);
        assertNull(answer(p), "one answer could be a fluke");
        assertEquals(State.DEAD, path.state());
        assertFalse(path.carries());

        Probe again = silence(TICK_MS, true).get(0);
        assertNotEquals(p.nonce(), again.nonce());
        assertEquals(State.ALIVE, answer(again), "the second answer revives it");
        assertTrue(path.carries());
    }

    @Test
    void repeatedStaleAndForgedAnswersCountForNothing() {
        Probe first = tick(false);
        assertNull(path.answered(first.nonce() ^ 2, now), "a nonce never sent");
        assertEquals(State.PROVING, path.state());
        assertEquals(State.ALIVE, answer(first));

        silence(DirectPath.IDLE_PROBE_MILLIS + DirectPath.DEAD_AFTER_MILLIS + TICK_MS, false);
        assertEquals(State.DEAD, path.state());
        Probe p = probes.get(probes.size() - 1);
        assertNull(answer(p));
        assertNull(answer(p), "the same answer twice is one answer");
        assertNull(answer(first), "an answer already counted");
        assertEquals(State.DEAD, path.state());
    }

    @Test
    void aClockReadingZeroIsATimeLikeAnyOther() {
        // A loop's ticker may start at 0 (netty's counts from its own start; a mock one from 0).
        DirectPath fromZero = new DirectPath(LOCAL, REMOTE, "host <-> host", 0);
        long first = fromZero.tick(0, true);
        assertEquals(0, fromZero.tick(50 * MS, true), "the next probe waits its interval");
        assertEquals(State.ALIVE, fromZero.answered(first, 60 * MS), "the probe sent at 0 counts");
        assertEquals(60, fromZero.rttMillis());

        DirectPath silentFromZero = new DirectPath(LOCAL, REMOTE, "host <-> host", 0);
        long p = silentFromZero.tick(0, true);
        silentFromZero.answered(p, 0);
        long unanswered = 0;
        for (long t = 0; unanswered == 0; t += TICK_MS * MS) {
            unanswered = silentFromZero.tick(t, false);
        }
        assertEquals(State.ALIVE, silentFromZero.state());
        // The unanswered idle probe went out at 2 s; 150 ms later the path is in doubt.
        silentFromZero.tick((DirectPath.IDLE_PROBE_MILLIS + 200) * MS, false);
        assertEquals(State.DOUBT, silentFromZero.state());
    }

    @Test
    void aDeadPathComesBackOnlyOnTwoAnswersInARow() {
        dead();
        Probe p = silence(2_000, true).get(0);
        assertNull(answer(p));
        Probe confirm = silence(TICK_MS, true).get(0); // asked again at once ...
        List<Probe> later = silence(2_000, true); // ... and lost
        assertFalse(later.isEmpty());
        assertNull(answer(later.get(0)), "an answer, a loss, an answer: a flaky path, still dead");
        assertEquals(State.DEAD, path.state());
        assertFalse(path.carries());

        Probe next = silence(TICK_MS, true).get(0);
        assertEquals(State.ALIVE, answer(next), "two in a row");
        assertNotEquals(confirm.nonce(), next.nonce());
    }
}
