package dev.appshare.rendezvous;

import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.security.SecureRandom;
import java.util.Random;
import java.util.function.Predicate;

/**
 * Makes names like {@code cheerful-beaver-2087}: easy to read aloud, 64 x 64 x 9000 (~37 million)
 * of them, so a random draw rarely collides and guessing a live one is slow.
 */
public final class NameAllocator {
    private static final String[] ADJECTIVES = {
        "able", "agile", "amber", "ample", "azure", "bold", "brave", "bright", "brisk", "calm",
        "cheerful", "clever", "cosy", "crisp", "curious", "daring", "deft", "eager", "early",
                "fair",
        "fancy", "fast", "fierce", "fond", "frank", "fresh", "gentle", "glad", "golden", "grand",
        "happy", "hardy", "honest", "humble", "jolly", "keen", "kind", "lively", "lucky", "merry",
        "mighty", "modest", "neat", "nimble", "noble", "patient", "plucky", "polite", "proud",
                "quick",
        "quiet", "rapid", "ready", "sharp", "shiny", "silent", "sleek", "smart", "steady", "sunny",
        "swift", "tidy", "vivid", "witty"
    };
    private static final String[] ANIMALS = {
        "alpaca", "badger", "beaver", "bison", "bobcat", "camel", "caribou", "cheetah", "coyote",
                "crane",
        "dingo", "dolphin", "donkey", "eagle", "falcon", "ferret", "finch", "fox", "gazelle",
                "gecko",
        "gibbon", "heron", "hippo", "ibex", "iguana", "jackal", "jaguar", "koala", "lemur",
                "leopard",
        "llama", "lynx", "magpie", "marmot", "meerkat", "mink", "moose", "newt", "ocelot", "orca",
        "osprey", "otter", "owl", "panda", "panther", "parrot", "pelican", "penguin", "puffin",
                "quail",
        "rabbit", "raven", "salmon", "seal", "sparrow", "squid", "stork", "tapir", "tiger",
                "toucan",
        "turtle", "walrus", "wombat", "zebra"
    };

    private final Random random;

    public NameAllocator() {
        this(new SecureRandom());
    }

    /** With a seeded {@link Random}, tests can replay the names a registry will draw. */
    NameAllocator(Random random) {
        this.random = random;
    }

    /** Draws names until one is free; gives up (null) after a bounded number of draws. */
    public String allocate(Predicate<String> taken) {
        for (int i = 0; i < 64; i++) {
            String name =
                    ADJECTIVES[random.nextInt(ADJECTIVES.length)]
                            + "-"
                            + ANIMALS[random.nextInt(ANIMALS.length)]
                            + "-"
                            + (1000 + random.nextInt(9000));
            if (!taken.test(name)) return name;
        }
        return null;
    }

    public static boolean isValid(String name) {
        return name != null && name.matches(RendezvousProtocol.NAME_PATTERN);
    }
}
