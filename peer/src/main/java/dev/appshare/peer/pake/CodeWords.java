package dev.appshare.peer.pake;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
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

    /**
     * A word list, checked: a broken one would weaken every code. Plain loops, no streams or
     * regular expressions: this runs on every cold connect's way to its first byte (the stream and
     * regex version cost ~25 ms there).
     */
    private static List<String> load(String name, int expected) {
        String text;
        try (InputStream in = CodeWords.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing word list " + name);
            text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> words = new ArrayList<>(expected);
        for (String line : text.split("\n")) {
            String w = line.strip();
            if (w.isEmpty()) continue;
            if (!isWord(w))
                throw new IllegalStateException("word list " + name + " holds '" + w + "'");
            words.add(w);
        }
        if (words.size() != expected || new HashSet<>(words).size() != expected)
            throw new IllegalStateException(
                    "word list " + name + " must hold " + expected + " distinct words");
        return List.copyOf(words);
    }

    /** 3 to 9 lower-case letters a-z. */
    private static boolean isWord(String w) {
        if (w.length() < 3 || w.length() > 9) return false;
        for (int i = 0; i < w.length(); i++) {
            char c = w.charAt(i);
            if (c < 'a' || c > 'z') return false;
        }
        return true;
    }
}
