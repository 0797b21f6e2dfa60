package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The locating part of a code: a number of 4 digits while those are easy to find free, one digit
 * more each time {@link NameAllocator#DRAWS_PER_LENGTH} draws of a length were all taken, up to 9;
 * null only when the numbers it draws are all taken. Seeded, so every count below is exact.
 */
class NameAllocatorTest {
    private static int digits(String name) {
        assertTrue(name.matches("[1-9][0-9]*"), "a number without a leading zero: " + name);
        return name.length();
    }

    @Test
    void aQuietServerHandsOutFourDigitNumbersThatAreValidNames() {
        NameAllocator names = new NameAllocator(new Random(1));
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String n = names.allocate(x -> false);
            assertEquals(4, digits(n), n);
            assertTrue(NameAllocator.isValid(n), n);
            seen.add(n);
        }
        // 10,000 draws over 9,000 numbers: they spread over (nearly) all of them, 1000 to 9999.
        assertTrue(seen.size() > 6_000, "distinct numbers drawn: " + seen.size());
        assertTrue(new NameAllocator().allocate(x -> false).matches("[1-9][0-9]{3}"));
    }

    @Test
    void aTakenNumberIsNeverHandedOut() {
        NameAllocator names = new NameAllocator(new Random(2));
        Set<String> taken = new HashSet<>();
        for (int i = 0; i < 5_000; i++) {
            String n = names.allocate(taken::contains);
            assertNotNull(n);
            assertTrue(taken.add(n), "handed out twice: " + n);
        }
    }

    @Test
    void itGrowsADigitWhenEveryShorterNumberIsTaken() {
        NameAllocator names = new NameAllocator(new Random(3));
        for (int i = 0; i < 1_000; i++) {
            assertEquals(5, digits(names.allocate(x -> x.length() == 4)));
        }
        for (int taken = 4; taken < 9; taken++) {
            int t = taken;
            String n = names.allocate(x -> x.length() <= t);
            assertEquals(taken + 1, digits(n), "all numbers up to " + taken + " digits taken");
        }
    }

    @Test
    void itGrowsWhenTheFourDigitSpaceIsMostlyTakenButNotWhenHalfIs() {
        // A 4-digit number is taken if its hash falls in the given share of the space.
        NameAllocator names = new NameAllocator(new Random(4));
        Predicate<String> half = takenShare(0.5);
        assertTrue(Math.abs(takenFraction(half) - 0.5) < 0.05, "half taken");
        assertTrue(grown(names, half, 10_000) < 100, "at half, 8 draws nearly always find one");

        Predicate<String> most = takenShare(0.97);
        double f = takenFraction(most);
        assertTrue(f > 0.95, "mostly taken: " + f);
        int grown = grown(names, most, 10_000);
        // f^8 of the allocations grow a digit (0.97^8 = 0.78), the rest found a free 4-digit one.
        double expected = Math.pow(f, NameAllocator.DRAWS_PER_LENGTH) * 10_000;
        assertTrue(
                Math.abs(grown - expected) < 500, "grew " + grown + " of 10,000, not " + expected);
    }

    /** Takes about {@code share} of the 4-digit numbers, spread over the space. */
    private static Predicate<String> takenShare(double share) {
        return x -> x.length() == 4 && new SplittableRandom(Long.parseLong(x)).nextDouble() < share;
    }

    private static double takenFraction(Predicate<String> taken) {
        int n = 0;
        for (int i = 1000; i <= 9999; i++) if (taken.test(Integer.toString(i))) n++;
        return n / 9000.0;
    }

    private static int grown(NameAllocator names, Predicate<String> taken, int n) {
        int grown = 0;
        for (int i = 0; i < n; i++) {
            String name = names.allocate(taken);
            assertFalse(taken.test(name), name);
            if (digits(name) > 4) grown++;
        }
        return grown;
    }

    @Test
    void itGivesUpOnlyWhenEveryLengthIsTaken() {
        NameAllocator names = new NameAllocator(new Random(5));
        assertNull(names.allocate(x -> true), "everything taken");
        // Everything up to 8 digits taken, and one in ten 9-digit numbers: still one is found.
        // (The server holds at most MAX_CONNECTIONS + MAX_RESERVATIONS names, about 82,000: from 6
        // digits up, nine in ten numbers are always free, so null means the server is full.)
        for (int i = 0; i < 1_000; i++) {
            String n = names.allocate(x -> x.length() < 9 || x.charAt(8) == '7');
            assertNotNull(n);
            assertEquals(9, digits(n));
        }
    }

    @Test
    void namesAskedForFollowThePattern() {
        assertTrue(NameAllocator.isValid("my-app") && NameAllocator.isValid("1234"));
        assertFalse(NameAllocator.isValid("UPPER-case"));
        assertFalse(NameAllocator.isValid("a"));
        assertFalse(NameAllocator.isValid("-dash-"));
        assertFalse(NameAllocator.isValid(null));
        assertFalse(NameAllocator.isValid("x".repeat(49)));
    }
}
