package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.Status;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The one line {@code connect} and {@code share} keep updated at the bottom of a terminal: the
 * path, its round trip, the bytes each way and their rate, the connections open (for a share, its
 * connectors). Redrawn in place (carriage return, clear to the end of the line) once a second.
 * Every other line, the contract lines on stdout ({@link #console()}) and the log lines on stderr
 * when it is the terminal too, goes out whole: the status line is cleared before it and drawn again
 * after. Used only when stdout is a terminal (see {@link #stdoutIsTerminal()}); scripts reading
 * stdout get the plain lines alone.
 */
final class StatusLine implements AutoCloseable {
    static final long PERIOD_MILLIS = 1_000;
    private static final byte[] CLEAR = "\r\033[K".getBytes(StandardCharsets.US_ASCII);

    private final Object lock = new Object();
    private final OutputStream term = new FileOutputStream(FileDescriptor.out);
    private final PrintStream out;
    private final Supplier<Status> source;
    private final boolean share;
    private final int width;
    private final Thread ticker;
    private String shown; // the status text on the terminal now, or null
    private String last; // the latest status text, drawn again after each whole line
    private boolean midLine; // a line on stdout or stderr is begun and not yet ended
    private boolean closed;
    private long lastNanos;
    private long lastOut = -1;
    private long lastIn;
    private double rateOut;
    private double rateIn;

    private StatusLine(Supplier<Status> source, boolean share) {
        this.source = source;
        this.share = share;
        this.width = columns() - 1; // a line as wide as the terminal would wrap before the \r
        this.out = new PrintStream(new Guarded(term), true, StandardCharsets.UTF_8);
        System.setOut(out);
        if (isTerminal(2))
            System.setErr(
                    new PrintStream(
                            new Guarded(new FileOutputStream(FileDescriptor.err)),
                            true,
                            StandardCharsets.UTF_8));
        ticker = new Thread(this::run, "status-line");
        ticker.setDaemon(true);
    }

    /**
     * A status line fed by {@code source}, drawn from now on, when stdout is a terminal and not
     * {@code quiet}; otherwise null (plain lines only).
     */
    static StatusLine startIfTerminal(boolean quiet, boolean share, Supplier<Status> source) {
        if (quiet || !stdoutIsTerminal()) return null;
        StatusLine s = new StatusLine(source, share);
        s.ticker.start();
        return s;
    }

    /** Whether stdout is a terminal (and not a dumb one): where the status line may be drawn. */
    static boolean stdoutIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) return false;
        return isTerminal(1);
    }

    /** File descriptor {@code fd} of this process is a terminal (Linux: its /proc link). */
    private static boolean isTerminal(int fd) {
        try {
            Path link = Path.of("/proc/self/fd/" + fd);
            if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                String target = Files.readSymbolicLink(link).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            }
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not Linux: ask the JDK
        }
        return System.console() != null; // Java 17: stdin and stdout are terminals
    }

    private static int columns() {
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").trim());
            return c >= 20 ? c : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }

    /** The contract lines ("Name: ...", "Path: ..."): whole lines above the status line. */
    Console console() {
        return text -> {
            synchronized (lock) {
                out.println(text);
                out.flush();
            }
        };
    }

    private void run() {
        try {
            while (true) {
                String text = render(source.get(), System.nanoTime());
                synchronized (lock) {
                    if (closed) return;
                    last = text;
                    if (!midLine && !text.equals(shown)) draw();
                }
                Thread.sleep(PERIOD_MILLIS);
            }
        } catch (InterruptedException e) {
            // closed
        } catch (RuntimeException e) {
            // a status that cannot be read must not end the command: stop drawing
            synchronized (lock) {
                hide();
            }
        }
    }

    /** The status line's text for {@code s}, with the rates since the last call. */
    String render(Status s, long nanos) {
        if (lastOut >= 0 && nanos > lastNanos) {
            double secs = (nanos - lastNanos) / 1e9;
            rateOut = Math.max(0, s.bytesOut() - lastOut) / secs;
            rateIn = Math.max(0, s.bytesIn() - lastIn) / secs;
        }
        lastNanos = nanos;
        lastOut = s.bytesOut();
        lastIn = s.bytesIn();
        StringBuilder b = new StringBuilder();
        if (share) {
            int n = s.connectors();
            b.append(n == 0 ? "no connectors" : n + (n == 1 ? " connector" : " connectors"));
            if (n > 0) b.append(" (").append(s.directConnectors()).append(" direct)");
        } else {
            b.append(shortPath(s.path()));
            if (s.path() != null && s.rttMillis() >= 0)
                b.append(" | rtt ").append(s.rttMillis()).append(" ms");
        }
        b.append(" | out ").append(bytes(s.bytesOut())).append(' ');
        b.append(bytes((long) rateOut)).append("/s");
        b.append(" | in ").append(bytes(s.bytesIn())).append(' ');
        b.append(bytes((long) rateIn)).append("/s");
        b.append(" | ").append(s.connections()).append(s.connections() == 1 ? " conn" : " conns");
        return b.length() > width ? b.substring(0, width) : b.toString();
    }

    /** "relay HOST:PORT", "direct HOST:PORT" (the peer's), from a Path: line's description. */
    static String shortPath(String path) {
        if (path == null) return "no tunnel";
        if (path.startsWith("relay (via ")) return "relay " + path.substring(11, path.length() - 1);
        int arrow = path.indexOf(" <-> ");
        if (path.startsWith("direct") && arrow > 0) {
            int end = path.indexOf(',', arrow);
            return "direct " + path.substring(arrow + 5, end > 0 ? end : path.length() - 1);
        }
        return path;
    }

    /** 1000-based, one decimal above a kB: 999 B, 1.5 kB, 12.3 MB. */
    static String bytes(long n) {
        if (n < 1000) return n + " B";
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Draws the latest status text in place of what the line holds (under the lock). */
    private void draw() {
        if (closed || last == null) return;
        write(CLEAR);
        write(last.getBytes(StandardCharsets.UTF_8));
        shown = last;
    }

    /** Clears the status line (under the lock). */
    private void hide() {
        if (shown == null) return;
        write(CLEAR);
        shown = null;
    }

    private void write(byte[] b) {
        try {
            term.write(b);
            term.flush();
        } catch (IOException e) {
            // the terminal is gone: nothing to draw on
        }
    }

    /** Clears the status line for good; the plain streams carry on. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            hide();
        }
        ticker.interrupt();
    }

    /** A stream to the terminal: clears the status line before each write. */
    private final class Guarded extends OutputStream {
        private final OutputStream under;

        Guarded(OutputStream under) {
            this.under = under;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) return;
            synchronized (lock) {
                hide();
                under.write(b, off, len);
                midLine = b[off + len - 1] != '\n';
                if (!midLine) {
                    under.flush();
                    draw(); // the whole line is out: the status goes below it again
                }
            }
        }

        @Override
        public void flush() throws IOException {
            synchronized (lock) {
                under.flush();
            }
        }
    }
}
