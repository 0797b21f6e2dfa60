package dev.appshare.peer;

import java.io.PrintStream;

/**
 * The lines scripts and users read on stdout ("Name: ...", "Listening on ...", "Path: ..."). Logs
 * go to stderr; these go here, one line each, flushed at once.
 */
public interface Console {
    void line(String text);

    static Console of(PrintStream out) {
        return text -> {
            synchronized (out) {
                out.println(text);
                out.flush();
            }
        };
    }
}
