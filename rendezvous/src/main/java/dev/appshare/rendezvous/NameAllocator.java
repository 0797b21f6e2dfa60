package dev.appshare.rendezvous;

import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.security.SecureRandom;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Draws the locating part of share codes: a number, {@code 2087} in {@code cheerful-beaver-2087}
 * (the words are the code's password, which the share draws and the server never sees). Four digits
 * while they are easy to find free, growing a digit when the server is busy: {@value
 * #DRAWS_PER_LENGTH} draws per length, from 4 to 9 digits. A number only locates; the password is
 * what protects a share, so a short, guessable number is fine.
 */
public final class NameAllocator {
    /** Random draws at each length before trying one digit more. */
    public static final int DRAWS_PER_LENGTH = 8;

    private final Random random;

    public NameAllocator() {
        this(new SecureRandom());
    }

    /** With a seeded {@link Random}, tests can replay the names a registry will draw. */
    NameAllocator(Random random) {
        this.random = random;
    }

    /** Draws numbers until one is free; gives up (null) when even 9 digits are busy. */
    public String allocate(Predicate<String> taken) {
        for (int digits = 4, low = 1000; digits <= 9; digits++, low *= 10) {
            for (int i = 0; i < DRAWS_PER_LENGTH; i++) {
                String name = Integer.toString(low + random.nextInt(9 * low));
                if (!taken.test(name)) return name;
            }
        }
        return null;
    }

    public static boolean isValid(String name) {
        return name != null && name.matches(RendezvousProtocol.NAME_PATTERN);
    }
}
