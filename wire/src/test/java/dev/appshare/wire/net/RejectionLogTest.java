package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RejectionLogTest {
    final AtomicLong now = new AtomicLong(123_456_789L);
    final List<String> lines = new ArrayList<>();
    final RejectionLog log =
            new RejectionLog(
                    "test connections", TimeUnit.SECONDS.toNanos(10), now::get, lines::add);

    void advanceSeconds(long s) {
        now.addAndGet(TimeUnit.SECONDS.toNanos(s));
    }

    @Test
    void aFloodIsOneLinePerIntervalWithItsCount() throws Exception {
        InetAddress from = InetAddress.getByName("192.0.2.7");
        for (int i = 0; i < 10_000; i++) log.reject(from, "its budget");
        assertEquals(1, lines.size(), "the first refusal at once, the rest counted: " + lines);
        assertTrue(lines.get(0).startsWith("refused 1 test connections"), lines.get(0));

        advanceSeconds(9);
        log.flush();
        assertEquals(1, lines.size(), "nothing more within the interval");
        advanceSeconds(1);
        log.flush();
        assertEquals(2, lines.size());
        assertTrue(lines.get(1).startsWith("refused 9,999 test connections"), lines.get(1));
        assertTrue(lines.get(1).contains("192.0.2.7: its budget"), lines.get(1));

        advanceSeconds(60);
        log.flush();
        assertEquals(2, lines.size(), "no line without a refusal");
        log.reject(from, "its budget");
        assertEquals(3, lines.size(), "a refusal after a quiet interval is logged at once");
        assertEquals(3, log.lines());
    }
}
