package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/**
 * The relay's budget for queued bytes as a state machine, on embedded channels that share one mock
 * clock: a write left unflushed stands for bytes queued for a reader that does not read (netty's
 * default 64 KiB high-water mark makes the channel unwritable past it), a flush for the reader
 * taking them.
 */
class HeldBytesBudgetTest {
    static final long STALL = TimeUnit.SECONDS.toNanos(10);
    static final int CHUNK = 100_000; // past the 64 KiB high-water mark: one makes a stall

    final MockTicker ticker = Ticker.newMockTicker();
    final LongAdder held = new LongAdder();
    final List<String> evictions = new ArrayList<>();

    HeldBytesBudget budget(long bytes) {
        return budget(bytes, 100 * bytes);
    }

    HeldBytesBudget budget(long bytes, long ceiling) {
        return new HeldBytesBudget(bytes, ceiling, STALL, ticker::nanoTime, held);
    }

    final HeldBytesBudget.Evictions log =
            (reader, stall, queued, pastCeiling, limit) ->
                    evictions.add(
                            reader + " " + TimeUnit.NANOSECONDS.toSeconds(stall) + "s " + queued);

    /** One direction of a splice: the relay's connection to the reader, and its partner. */
    record Direction(EmbeddedChannel toReader, EmbeddedChannel partner) {
        void queue(int bytes) {
            toReader.write(Unpooled.wrappedBuffer(new byte[bytes]));
        }

        /** The reader takes everything queued. */
        void drain() {
            toReader.flush();
            toReader.outboundMessages().forEach(m -> ((io.netty.buffer.ByteBuf) m).release());
            toReader.outboundMessages().clear();
        }

        boolean open() {
            toReader.runPendingTasks();
            return toReader.isOpen();
        }
    }

    Direction direction(HeldBytesBudget budget) {
        HeldBytesHandler[] pair = HeldBytesHandler.pair(budget, log);
        EmbeddedChannel toReader =
                EmbeddedChannel.builder().ticker(ticker).handlers(pair[0]).build();
        EmbeddedChannel partner =
                EmbeddedChannel.builder().ticker(ticker).handlers(pair[1]).build();
        return new Direction(toReader, partner);
    }

    /** The other direction of the same pair: what is queued for the partner's reader. */
    static Direction reverse(Direction d) {
        return new Direction(d.partner, d.toReader);
    }

    void advance(long seconds, Direction... loops) {
        ticker.advance(seconds, TimeUnit.SECONDS);
        for (Direction d : loops) d.toReader.runScheduledPendingTasks();
    }

    @Test
    void countsWhatIsQueuedUntilTheReaderTakesIt() {
        HeldBytesBudget budget = budget(1 << 20);
        Direction d = direction(budget);
        d.queue(10_000);
        d.queue(20_000);
        assertEquals(30_000, budget.held());
        assertTrue(d.toReader.isWritable());
        d.queue(CHUNK);
        assertFalse(d.toReader.isWritable());
        assertEquals(130_000, budget.held());
        d.drain();
        assertEquals(0, budget.held());
        assertTrue(d.toReader.isWritable());
    }

    @Test
    void underTheBudgetAStallOfAnyLengthStays() {
        HeldBytesBudget budget = budget(3 * CHUNK);
        Direction a = direction(budget);
        Direction b = direction(budget);
        a.queue(CHUNK);
        b.queue(CHUNK);
        advance(3600, a, b);
        b.drain();
        b.queue(CHUNK); // a new stall: the check runs
        assertTrue(a.open() && b.open());
        assertEquals(0, budget.evicted());
    }

    /**
     * Over the budget, stalls younger than the minimum stay; once old enough the oldest goes first,
     * just enough of them to get under 7/8 of the budget, and its partner with it.
     */
    @Test
    void overTheBudgetTheOldestStallsGoOnceOldEnough() {
        HeldBytesBudget budget = budget(150_000);
        Direction a = direction(budget);
        Direction b = direction(budget);
        Direction c = direction(budget);
        a.queue(CHUNK); // t=0, under the budget
        advance(3, a, b, c);
        b.queue(CHUNK); // t=3: over, but no stall is 10 s old; a check is due at t=10
        advance(3, a, b, c);
        c.queue(CHUNK); // t=6
        assertEquals(300_000, budget.held());
        assertEquals(0, budget.evicted());

        advance(3, a, b, c); // t=9: still too young
        assertTrue(a.open() && b.open() && c.open());

        advance(1, a, b, c); // t=10: a is 10 s old; without a, 200 KB > 7/8 of 150 KB: b next
        assertFalse(a.open(), "the oldest stall is reset");
        assertFalse(a.partner.isOpen(), "and its partner with it");
        assertEquals(1, evictions.size());
        assertTrue(evictions.get(0).endsWith(" 10s " + CHUNK), evictions.get(0));
        assertEquals(200_000, budget.held());
        assertTrue(b.open() && c.open());

        advance(3, a, b, c); // t=13: b is old enough; 100 KB left is under 131 KB
        assertFalse(b.open());
        assertTrue(c.open(), "the youngest stall stays: the relay is back under its budget");
        assertEquals(100_000, budget.held());
        assertEquals(2, budget.evicted());

        advance(3600, a, b, c);
        assertTrue(c.open());
        assertEquals(2, budget.evicted());
    }

    /** Of two stalls both old enough, the older goes, when one is enough. */
    @Test
    void ofTwoOldStallsTheOlderGoesFirst() {
        HeldBytesBudget budget = budget(250_000);
        Direction a = direction(budget);
        Direction b = direction(budget);
        Direction c = direction(budget);
        b.queue(CHUNK); // t=0
        advance(2, a, b, c);
        a.queue(CHUNK); // t=2
        advance(20, a, b, c);
        c.queue(CHUNK); // t=22: 300 KB, over; 7/8 of the budget is 218.75 KB: one must go
        assertFalse(b.open(), "the older stall goes");
        assertTrue(a.open() && c.open());
        assertEquals(1, budget.evicted());
    }

    /** A reader that takes nothing ages even while its connection stays writable. */
    @Test
    void aReaderThatTakesNothingAgesEvenUnderTheHighWaterMark() {
        HeldBytesBudget budget = budget(120_000);
        Direction quiet = direction(budget);
        Direction stalled = direction(budget);
        quiet.queue(50_000); // t=0: under the 64 KiB mark, writable
        assertTrue(quiet.toReader.isWritable());
        advance(1, quiet, stalled);
        stalled.queue(CHUNK); // t=1: 150 KB, over
        advance(9, quiet, stalled); // t=10: quiet is 10 s old; without it 100 KB < 105 KB
        assertFalse(quiet.open());
        assertTrue(stalled.open());
    }

    /** Past the ceiling, age does not matter: the connections holding the most go first. */
    @Test
    void pastTheCeilingTheLargestGoWhateverTheirAge() {
        HeldBytesBudget budget = budget(100_000, 250_000);
        Direction a = direction(budget);
        Direction b = direction(budget);
        Direction c = direction(budget);
        a.queue(CHUNK);
        b.queue(CHUNK);
        b.queue(50_000);
        c.queue(60_000); // 310 KB, past the ceiling, every stall 0 s old: b, the largest, goes
        assertFalse(b.open());
        assertTrue(a.open() && c.open(), "160 KB left is under 7/8 of the ceiling");
        assertEquals(1, budget.evicted());
        assertEquals(160_000, budget.held());
    }

    /**
     * A pair stalled both ways is one pair: reset once, and both its directions' bytes count
     * towards the excess (one direction alone would not cover it, and "other" would go too).
     */
    @Test
    void aPairStalledBothWaysCountsOnce() {
        HeldBytesBudget budget = budget(50_000, 200_000);
        Direction ab = direction(budget);
        Direction ba = reverse(ab);
        Direction other = direction(budget);
        ab.queue(CHUNK);
        ba.queue(CHUNK); // t=0: 200 KB, past the budget, not the ceiling
        advance(1, ab, ba, other);
        other.queue(130_000); // t=1: 330 KB, past the ceiling: 155 KB over 7/8 of it
        ab.open(); // the reset runs on the loop of whichever direction the scan chose
        ba.open();
        assertFalse(ab.toReader.isOpen() || ba.toReader.isOpen(), "the older (same size step)");
        assertTrue(other.open(), "the pair's 200 KB covered the excess");
        assertEquals(1, budget.evicted());
        assertEquals(1, evictions.size());
        assertEquals(130_000, budget.held());
    }

    /**
     * The scan runs on one loop, the reset on the stalled connection's: a reader that took its
     * bytes in between is spared.
     */
    @Test
    void aReaderThatTookItsBytesBeforeTheResetRanIsSpared() {
        HeldBytesBudget budget = budget(150_000);
        Direction x = direction(budget);
        Direction y = direction(budget);
        x.queue(CHUNK); // t=0
        advance(1, x, y);
        y.queue(CHUNK); // t=1: over; the check is scheduled on y's loop, for t=10
        ticker.advance(9, TimeUnit.SECONDS);
        y.toReader.runScheduledPendingTasks(); // the scan chooses x; its reset waits on x's loop
        x.drain(); // x's reader takes it all first
        assertTrue(x.open(), "spared");
        assertTrue(y.open());
        assertEquals(0, budget.evicted());
        assertEquals(List.of(), evictions);
        x.queue(CHUNK); // stalls again: a new age, and it can be chosen again later
        advance(10, x, y); // t=20: y is 19 s old, x 10 s: y goes, and that is enough
        assertFalse(y.open());
        assertTrue(x.open());
    }

    /** A reader that takes its bytes ends its stall; only an unbroken stall counts. */
    @Test
    void aReaderThatTakesItsBytesStartsItsStallAgain() {
        HeldBytesBudget budget = budget(150_000);
        Direction slow = direction(budget);
        Direction stopped = direction(budget);
        slow.queue(CHUNK); // t=0
        advance(1, slow, stopped);
        stopped.queue(CHUNK); // t=1: over the budget
        advance(8, slow, stopped);
        slow.drain(); // t=9: the slow reader took it all
        slow.queue(CHUNK); // and stalls again
        advance(2, slow, stopped); // t=11: stopped is 10 s old, slow 2 s
        assertFalse(stopped.open());
        assertTrue(slow.open());
        assertEquals(1, budget.evicted());
    }
}
