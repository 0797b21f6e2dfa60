package dev.appshare.peer.pake;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The words of a code's password, {@code cheerful-beaver} in {@code cheerful-beaver-2087}: one of
 * {@value #ADJECTIVES} adjectives and one of {@value #ANIMALS} animals (resources beside this
 * class), drawn by the share with a SecureRandom: 2^19 = 524,288 passwords. The arithmetic that
 * makes that enough (with the share's limit on wrong codes) is in docs/threat-model.md.
 */
public final class CodeWords {
    public static final int ADJECTIVES = 1024;
    public static final int ANIMALS = 512;

    private static final List<String> ADJECTIVE_LIST = load("adjectives.txt", ADJECTIVES);
    private static final List<String> ANIMAL_LIST = load("animals.txt", ANIMALS);
    private static final Set<String> ADJECTIVE_SET = Set.copyOf(ADJECTIVE_LIST);
    private static final Set<String> ANIMAL_SET = Set.copyOf(ANIMAL_LIST);

    private CodeWords() {}

    /** A fresh password: {@code adjective-animal}. */
    public static String draw(SecureRandom random) {
        return ADJECTIVE_LIST.get(random.nextInt(ADJECTIVES))
                + "-"
                + ANIMAL_LIST.get(random.nextInt(ANIMALS));
    }

    public static boolean isAdjective(String w) {
        return ADJECTIVE_SET.contains(w);
    }

    public static boolean isAnimal(String w) {
        return ANIMAL_SET.contains(w);
    }

    private static List<String> load(String name, int expected) {
        try (InputStream in = CodeWords.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing word list " + name);
            List<String> words =
                    new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))
                            .lines()
                            .map(String::strip)
                            .filter(w -> !w.isEmpty())
                            .toList();
            if (words.size() != expected
                    || new HashSet<>(words).size() != expected
                    || !words.stream().allMatch(w -> w.matches("[a-z]{3,9}")))
                throw new IllegalStateException(
                        "word list " + name + " must hold " + expected + " distinct words");
            return words;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
