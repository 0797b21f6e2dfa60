package dev.appshare.wire.net;

import java.util.List;

/** Closing several things at once: one that throws must not leave the others open. */
public final class Closeables {
    private Closeables() {}

    /** Closes each resource (nulls skipped), even after one throws; collects the failures. */
    public static void closeEach(List<Exception> failures, AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            if (r == null) continue;
            try {
                r.close();
            } catch (Exception e) {
                failures.add(e);
            }
        }
    }

    /** The first failure with the later ones suppressed on it, or null when there is none. */
    public static Exception first(List<Exception> failures) {
        if (failures.isEmpty()) return null;
        Exception first = failures.get(0);
        for (Exception later : failures.subList(1, failures.size())) first.addSuppressed(later);
        return first;
    }
}
