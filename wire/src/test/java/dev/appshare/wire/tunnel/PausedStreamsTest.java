package dev.appshare.wire.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The bound on paused streams as a state machine, on embedded channels that share one mock clock:
 * each channel stands for a socket a stream's bytes are written to, made unwritable (its reader
 * stopped) and writable again (it took some) by hand.
 */
class PausedStreamsTest {
    static final long STALL = TimeUnit.SECONDS.toNanos(10);
    static final long CEILING_STALL = TimeUnit.SECONDS.toNanos(1);

    final MockTicker ticker = Ticker.newMockTicker();
    final List<String> resets = new ArrayList<>();
    final List<EmbeddedChannel> sockets = new ArrayList<>();

    PausedStreams streams(int budget, int ceiling) {
        return new PausedStreams(
                budget,
                ceiling,
                STALL,
                CEILING_STALL,
                ticker::nanoTime,
                (reader, pausedNanos, paused, pastCeiling, limit) ->
                        resets.add(
                                TimeUnit.NANOSECONDS.toSeconds(pausedNanos)
                                        + "s of "
                                        + paused
                                        + (pastCeiling ? " past the ceiling" : "")));
    }

    EmbeddedChannel socket(PausedStreams streams) {
        EmbeddedChannel ch =
                EmbeddedChannel.builder().ticker(ticker).handlers(streams.watch()).build();
        sockets.add(ch);
        return ch;
    }

    /** Its reader stops: more is queued than the 64 KiB high-water mark. */
    static void pause(EmbeddedChannel ch) {
        ch.write(Unpooled.wrappedBuffer(new byte[100_000]));
    }

    /** Its reader takes what was queued. */
    static void resume(EmbeddedChannel ch) {
        ch.flush();
        ch.outboundMessages().forEach(ReferenceCountUtil::release);
        ch.outboundMessages().clear();
    }

    /** The clock moves on; every socket's loop runs what is due (resets, scheduled checks). */
    void advance(long seconds) {
        advanceMillis(seconds * 1000);
    }

    void advanceMillis(long millis) {
        ticker.advance(millis, TimeUnit.MILLISECONDS);
        for (int round = 0; round < 2; round++) // a check on one loop queues a reset on another
        for (EmbeddedChannel ch : sockets) {
                ch.runScheduledPendingTasks();
                ch.runPendingTasks();
            }
    }

    @Test
    void underTheBudgetNothingIsResetHoweverLongItWaits() {
        PausedStreams streams = streams(2, 4);
        EmbeddedChannel a = socket(streams);
        EmbeddedChannel b = socket(streams);
        pause(a);
        pause(b);
        advance(600);
        assertTrue(a.isOpen() && b.isOpen());
        assertEquals(2, streams.paused());
        assertEquals(List.of(), resets);
    }

    @Test
    void pastTheBudgetTheLongestPausedAreResetOnceOldEnoughDownToTheBudget() {
        PausedStreams streams = streams(2, 10);
        EmbeddedChannel a = socket(streams);
        EmbeddedChannel b = socket(streams);
        EmbeddedChannel c = socket(streams);
        pause(a);
        advance(5);
        pause(b);
        advance(3);
        pause(c); // three paused, none for 10 s yet: nothing now
        assertTrue(a.isOpen() && b.isOpen() && c.isOpen());
        advance(2); // a has waited 10 s: the check scheduled then finds it without a new pause
        assertFalse(a.isOpen(), "the longest paused is reset");
        assertTrue(b.isOpen() && c.isOpen(), "down to the budget, no further");
        assertEquals(List.of("10s of 3"), resets);
        assertEquals(2, streams.paused());
        EmbeddedChannel d = socket(streams);
        advance(2);
        pause(d); // b 7 s, c 4 s, d 0 s
        assertTrue(b.isOpen());
        advance(3);
        assertFalse(b.isOpen());
        assertTrue(c.isOpen() && d.isOpen());
        assertEquals(List.of("10s of 3", "10s of 3"), resets);
        assertEquals(2, streams.resets());
    }

    @Test
    void aReaderThatTakesSomethingStartsAfresh() {
        PausedStreams streams = streams(1, 10);
        EmbeddedChannel a = socket(streams);
        EmbeddedChannel b = socket(streams);
        pause(a);
        advance(1);
        pause(b);
        advance(4);
        resume(a); // a's reader took some
        advance(1);
        pause(a); // and stopped again: paused since 6 s, b since 1 s
        advance(5); // b has waited 10 s, a 5 s
        assertFalse(b.isOpen());
        assertTrue(a.isOpen());
        advance(5);
        assertTrue(a.isOpen(), "alone, under the budget");
        assertEquals(List.of("10s of 2"), resets);
    }

    @Test
    void pastTheCeilingTheLongestPausedForASecondAreReset() {
        PausedStreams streams = streams(1, 2);
        EmbeddedChannel a = socket(streams);
        EmbeddedChannel b = socket(streams);
        EmbeddedChannel c = socket(streams);
        pause(a);
        advance(1);
        pause(b);
        advance(1);
        pause(c); // three, past the ceiling of two: a, paused for more than a second, goes now
        advance(0);
        assertFalse(a.isOpen());
        assertTrue(b.isOpen() && c.isOpen());
        assertEquals(List.of("2s of 3 past the ceiling"), resets);
        advance(9); // b has waited 10 s: over the budget of one
        assertFalse(b.isOpen());
        assertTrue(c.isOpen());
    }

    @Test
    void slowReadersWhoseQueuesDrainEveryHalfSecondAreNeverResetEvenPastTheCeiling() {
        PausedStreams streams = streams(1, 2);
        List<EmbeddedChannel> slow = List.of(socket(streams), socket(streams), socket(streams));
        for (int i = 0; i < 60; i++) { // 30 s: each pauses, and drains half a second later
            for (EmbeddedChannel ch : slow) pause(ch);
            advanceMillis(500);
            for (EmbeddedChannel ch : slow) resume(ch);
        }
        for (EmbeddedChannel ch : slow) assertTrue(ch.isOpen());
        EmbeddedChannel stopped = socket(streams);
        pause(stopped);
        for (int i = 0; i < 4; i++) { // 2 s more: the one that stopped goes, past the ceiling
            for (EmbeddedChannel ch : slow) pause(ch);
            advanceMillis(500);
            for (EmbeddedChannel ch : slow) resume(ch);
        }
        assertFalse(stopped.isOpen());
        for (EmbeddedChannel ch : slow) assertTrue(ch.isOpen());
        assertEquals(1, resets.size());
        assertTrue(resets.get(0).endsWith("of 4 past the ceiling"), resets.toString());
    }

    @Test
    void aSocketThatResumesOrClosesBeforeItsResetRunsIsLeftAlone() {
        PausedStreams streams = streams(1, 10);
        EmbeddedChannel a = socket(streams);
        EmbeddedChannel b = socket(streams);
        pause(a);
        advance(1);
        pause(b);
        ticker.advance(10, TimeUnit.SECONDS);
        b.runScheduledPendingTasks(); // the check runs on b's loop and chooses a
        resume(a); // a's reader took what was queued meanwhile
        a.runPendingTasks(); // now the reset runs on a's loop
        assertTrue(a.isOpen(), "a reader that resumed is not reset");
        assertEquals(List.of(), resets);
        b.close();
        assertEquals(0, streams.paused(), "a closed socket leaves the count");
    }
}
