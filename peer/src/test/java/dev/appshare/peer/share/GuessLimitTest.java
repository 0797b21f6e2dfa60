package dev.appshare.peer.share;

import static dev.appshare.peer.share.GuessLimit.Verdict.ADDRESS_OVER;
import static dev.appshare.peer.share.GuessLimit.Verdict.ADMIT;
import static dev.appshare.peer.share.GuessLimit.Verdict.SHARE_OVER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The share's limit on wrong codes ({@link GuessLimit}) on an injected clock, with the production
 * limits: per address 3 at once then one per 30 min, per share 10 at once then one per 4 min,
 * tokens back for a connector that proves the code, and the bounds its javadoc states.
 */
class GuessLimitTest {
    static final long MINUTE = TimeUnit.MINUTES.toNanos(1);
    static final long ADDRESS_INTERVAL = GuessLimit.Limits.DEFAULTS.addressIntervalNanos();
    static final long SHARE_INTERVAL = GuessLimit.Limits.DEFAULTS.shareIntervalNanos();

    private long now = 123_456_789_000L;
    private final GuessLimit limit = new GuessLimit(GuessLimit.Limits.DEFAULTS, () -> now);

    static InetAddress address(int n) {
        try {
            return InetAddress.getByAddress(
                    new byte[] {10, (byte) (n >> 16), (byte) (n >> 8), (byte) n});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static final InetAddress A = address(1), B = address(2);

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        assertEquals(
                new GuessLimit.Limits(3, 30 * MINUTE, 10, 4 * MINUTE), GuessLimit.Limits.DEFAULTS);
    }

    @Test
    void anAddressGetsThreeThenOnePerInterval() {
        for (int i = 0; i < 3; i++) assertEquals(ADMIT, limit.tryAttempt(A), "attempt " + i);
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        now += ADDRESS_INTERVAL - 1;
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A), "a nanosecond early");
        now += 1;
        assertEquals(ADMIT, limit.tryAttempt(A), "one interval later");
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        now += 3 * ADDRESS_INTERVAL;
        for (int i = 0; i < 3; i++) assertEquals(ADMIT, limit.tryAttempt(A), "refilled " + i);
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A), "no more than the burst");
    }

    @Test
    void oneAddressOverItsLimitDoesNotHoldAnother() {
        for (int i = 0; i < 3; i++) limit.tryAttempt(A);
        for (int i = 0; i < 50; i++) assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        assertEquals(ADMIT, limit.tryAttempt(B));
    }

    @Test
    void anAddressOverItsLimitSpendsNothingOfTheShares() {
        for (int i = 0; i < 3; i++) limit.tryAttempt(A);
        for (int i = 0; i < 100; i++) assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        // the share's 10 less A's 3: seven more from other addresses, then the share is over
        for (int i = 0; i < 7; i++) assertEquals(ADMIT, limit.tryAttempt(address(100 + i)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(200)));
    }

    @Test
    void theShareGetsTenFromAnywhereThenOnePerInterval() {
        for (int i = 0; i < 10; i++) assertEquals(ADMIT, limit.tryAttempt(address(10 + i)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(99)), "a fresh address");
        assertEquals(SHARE_INTERVAL, limit.shareWaitNanos());
        now += SHARE_INTERVAL - 1;
        assertEquals(SHARE_OVER, limit.tryAttempt(address(99)));
        assertEquals(1, limit.shareWaitNanos());
        now += 1;
        assertEquals(0, limit.shareWaitNanos());
        assertEquals(ADMIT, limit.tryAttempt(address(99)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(98)));
    }

    @Test
    void aQuietDayEarnsNoMoreThanTheBursts() {
        now += TimeUnit.HOURS.toNanos(24);
        for (int i = 0; i < 3; i++) assertEquals(ADMIT, limit.tryAttempt(A));
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        for (int i = 0; i < 7; i++) assertEquals(ADMIT, limit.tryAttempt(address(10 + i)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(30)));
    }

    @Test
    void theShareOverSpendsNothingOfTheAddresss() {
        limit.tryAttempt(A);
        limit.tryAttempt(A); // A has one left
        for (int i = 0; i < 8; i++) limit.tryAttempt(address(10 + i));
        for (int i = 0; i < 20; i++) assertEquals(SHARE_OVER, limit.tryAttempt(A));
        now += SHARE_INTERVAL;
        assertEquals(ADMIT, limit.tryAttempt(A), "A kept its last token");
        now += SHARE_INTERVAL;
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
    }

    @Test
    void aConnectorThatProvesTheCodeGetsItsTokensBack() {
        for (int i = 0; i < 100; i++) {
            assertEquals(ADMIT, limit.tryAttempt(A), "proof " + i);
            limit.refund(A);
        }
        // neither A's budget nor the share's was touched
        for (int i = 0; i < 3; i++) assertEquals(ADMIT, limit.tryAttempt(A));
        for (int i = 0; i < 7; i++) assertEquals(ADMIT, limit.tryAttempt(address(10 + i)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(30)));
        // a proof while the share is nearly spent gives its token back at once
        now += SHARE_INTERVAL;
        assertEquals(ADMIT, limit.tryAttempt(B));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(31)));
        limit.refund(B);
        assertEquals(ADMIT, limit.tryAttempt(address(31)));
    }

    @Test
    void refundsDoNotRaiseTheBudgetsAboveTheirBursts() {
        for (int i = 0; i < 5; i++) limit.refund(A); // nothing was taken
        for (int i = 0; i < 3; i++) assertEquals(ADMIT, limit.tryAttempt(A));
        assertEquals(ADDRESS_OVER, limit.tryAttempt(A));
        for (int i = 0; i < 7; i++) assertEquals(ADMIT, limit.tryAttempt(address(10 + i)));
        assertEquals(SHARE_OVER, limit.tryAttempt(address(30)));
    }

    /**
     * The javadoc's bound: in 24 hours at most 10 + 360 = 370 guesses reach a share however many
     * addresses guess. Here a fresh address guesses five times a second for a day.
     */
    @Test
    void aDayOfGuessingFromEverywhereGetsAtMost370() {
        long start = now;
        int admitted = 0, address = 0;
        while (now - start < TimeUnit.HOURS.toNanos(24)) {
            for (int i = 0; i < 5; i++)
                if (limit.tryAttempt(address(++address)) == ADMIT) admitted++;
            now += TimeUnit.MILLISECONDS.toNanos(1000);
        }
        assertTrue(admitted <= 370, admitted + " guesses in a day");
        assertTrue(admitted >= 369, "the share stopped admitting: " + admitted);
    }

    /**
     * One address alone cannot hold the share's budget empty: guessing every second for six hours,
     * it gets its own 3 and one per 30 min, and another address is never refused for the share.
     */
    @Test
    void oneAddressAloneCannotHoldTheShareEmpty() {
        long start = now;
        int fromA = 0, other = 0;
        while (now - start < TimeUnit.HOURS.toNanos(6)) {
            if (limit.tryAttempt(A) == ADMIT) fromA++;
            if ((now - start) % (5 * MINUTE) == 0) {
                InetAddress fresh = address(1000 + other++);
                assertNotEquals(SHARE_OVER, limit.tryAttempt(fresh), "at " + (now - start));
            }
            now += TimeUnit.SECONDS.toNanos(1);
        }
        assertTrue(fromA <= 3 + 12, fromA + " guesses from one address in 6 h");
        assertTrue(other > 60);
    }

    /**
     * The table of addresses in debt holds at most {@link GuessLimit#MAX_ADDRESSES}; past it a new
     * address waits until some bucket refilled, and spends nothing of the share's budget.
     */
    @Test
    void theTableOfAddressesIsBounded() {
        int lots = 1_000_000;
        GuessLimit wide =
                new GuessLimit(new GuessLimit.Limits(3, ADDRESS_INTERVAL, 8_000, 1), () -> now);
        for (int i = 0; i < GuessLimit.MAX_ADDRESSES; i++)
            assertEquals(ADMIT, wide.tryAttempt(address(i)), "address " + i);
        assertEquals(ADDRESS_OVER, wide.tryAttempt(address(lots)), "the table is full");
        assertEquals(ADMIT, wide.tryAttempt(address(7)), "one already in the table");
        now += ADDRESS_INTERVAL; // every bucket earned its token back
        now += TimeUnit.SECONDS.toNanos(1);
        assertEquals(ADMIT, wide.tryAttempt(address(lots)), "room again once buckets refilled");
    }
}
