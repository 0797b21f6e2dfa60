package dev.appshare.peer.pake;

import dev.appshare.wire.rendezvous.RendezvousProtocol;

/**
 * A share's code, {@code cheerful-beaver-2087}: the password ({@code cheerful-beaver}, which the
 * rendezvous never sees and the PAKE proves) and the name that locates the share on the rendezvous
 * ({@code 2087}: a number the server drew, or the name the share asked for with --name). The first
 * two words are the password; everything after them is the name.
 */
public record ShareCode(String password, String name) {
    /** A code that cannot be one, with a sentence saying why (for the user). */
    public static final class InvalidException extends IllegalArgumentException {
        InvalidException(String message) {
            super(message);
        }
    }

    @Override
    public String toString() {
        return password + "-" + name;
    }

    /**
     * Parses what the user typed. Case and surrounding blanks are forgiven; a word that is not in
     * the lists is named, so a typo is caught here rather than as a failed PAKE (which costs the
     * share one of its wrong-code attempts).
     */
    public static ShareCode parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(java.util.Locale.ROOT);
        String[] parts = t.split("-", 3);
        if (parts.length < 3 || parts[0].isEmpty() || parts[1].isEmpty())
            throw new InvalidException(
                    "'" + text + "' is not a code: a code looks like cheerful-beaver-2087");
        if (!CodeWords.isAdjective(parts[0]))
            throw new InvalidException(
                    "'" + parts[0] + "' is not one of the code's first words: check the code");
        if (!CodeWords.isAnimal(parts[1]))
            throw new InvalidException(
                    "'" + parts[1] + "' is not one of the code's second words: check the code");
        if (!parts[2].matches(RendezvousProtocol.NAME_PATTERN))
            throw new InvalidException(
                    "'" + parts[2] + "' is not a share's number or name: check the code");
        return new ShareCode(parts[0] + "-" + parts[1], parts[2]);
    }
}
