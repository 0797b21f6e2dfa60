package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A flood of refusals writes one line per interval, on an injected clock. */
class RejectionLogTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void oneLinePerInterval() {
        AtomicLong now = new AtomicLong(5 * SECOND);
        RejectionLog log =
                new RejectionLog(
                        LoggerFactory.getLogger(RejectionLogTest.class), 10 * SECOND, now::get);
        int lines = 0;
        for (int i = 0; i < 100_000; i++) {
            if (log.refused("over its budget", "192.0.2.1")) lines++;
            now.addAndGet(SECOND / 1000); // 100 s of refusals, a thousand a second
        }
        assertEquals(10, lines);
    }
}
