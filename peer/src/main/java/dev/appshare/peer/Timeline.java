package dev.appshare.peer;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a cold start's time goes: with {@code -Dappshare.timeline=true} (or {@code
 * APPSHARE_TIMELINE=1} in the environment) each {@link #mark} prints one line on stderr, the first
 * time that event happens in the process:
 *
 * <pre>
 *   timeline 412 ms: event loop up
 * </pre>
 *
 * counted from the process's start (Linux: {@code /proc/self/stat}, 10 ms resolution, so it
 * includes the JVM's own start; elsewhere the JVM's recorded start time). scripts/bench
 * (ConnectTimes) reads these lines. Off, a mark costs one static boolean test.
 */
public final class Timeline {
    private static final boolean ON =
            Boolean.getBoolean("appshare.timeline")
                    || "1".equals(System.getenv("APPSHARE_TIMELINE"));
    private static final Set<String> SEEN = ON ? ConcurrentHashMap.newKeySet() : Set.of();

    private Timeline() {}

    /** Whether marks are printed. */
    public static boolean on() {
        return ON;
    }

    /** Prints {@code event} with the ms since the process started, the first time only. */
    public static void mark(String event) {
        if (!ON || !SEEN.add(event)) return;
        System.err.println("timeline " + Start.ageMillis() + " ms: " + event);
    }

    /** The process's start, found on the first mark (not at all when off). */
    private static final class Start {
        /** System.nanoTime() at the process's start. */
        private static final long NANOS = System.nanoTime() - initialAgeMillis() * 1_000_000L;

        static long ageMillis() {
            return (System.nanoTime() - NANOS) / 1_000_000L;
        }

        private static long initialAgeMillis() {
            try {
                // field 22 of /proc/self/stat: the start in clock ticks (USER_HZ, 100 on Linux)
                // since boot; /proc/uptime: seconds since boot, to 10 ms
                String stat =
                        Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                long startTicks = Long.parseLong(f[19]);
                String up = Files.readString(Path.of("/proc/uptime"), StandardCharsets.US_ASCII);
                double upSeconds = Double.parseDouble(up.substring(0, up.indexOf(' ')));
                return Math.max(0, Math.round(upSeconds * 1000 - startTicks * 10));
            } catch (Exception | Error e) {
                return ManagementFactory.getRuntimeMXBean().getUptime();
            }
        }
    }
}
