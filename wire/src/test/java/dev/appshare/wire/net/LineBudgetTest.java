package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link LineBudget} with an injected clock: lines per interval, the rest counted and reported. */
class LineBudgetTest {
    private final AtomicLong now = new AtomicLong(1_000);
    private final LineBudget budget = new LineBudget(3, 100, now::get);

    @Test
    void writesTheFirstLinesOfAnIntervalAndCountsTheRestForTheNextLine() {
        assertEquals(0, budget.take());
        assertEquals(0, budget.take());
        assertEquals(0, budget.take());
        for (int i = 0; i < 1_000; i++) assertEquals(-1, budget.take(), "past the budget");
        now.addAndGet(99);
        assertEquals(-1, budget.take(), "still the same interval");
        now.addAndGet(1);
        assertEquals(1_001, budget.take(), "the next line says how many were not written");
        assertEquals(0, budget.take());
        assertEquals(0, budget.take());
        assertEquals(-1, budget.take());
        now.addAndGet(1_000);
        assertEquals(1, budget.take());
        assertEquals("", LineBudget.since(0, "closed"));
        assertEquals(" (7 more closed since the last such line)", LineBudget.since(7, "closed"));
    }
}
