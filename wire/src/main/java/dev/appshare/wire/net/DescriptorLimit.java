package dev.appshare.wire.net;

import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.OptionalLong;

/** The process's file descriptor limit, where the JVM can tell. */
public final class DescriptorLimit {
    private DescriptorLimit() {}

    /**
     * The soft RLIMIT_NOFILE (HotSpot raises it to the hard limit at start on Linux and macOS), or
     * empty where the platform does not say (Windows, other JVMs).
     */
    public static OptionalLong soft() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof UnixOperatingSystemMXBean unix && unix.getMaxFileDescriptorCount() > 0) {
            return OptionalLong.of(unix.getMaxFileDescriptorCount());
        }
        return OptionalLong.empty();
    }

    /** Descriptors open now, or -1 where the platform does not say. */
    public static long open() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof UnixOperatingSystemMXBean unix
                ? unix.getOpenFileDescriptorCount()
                : -1;
    }
}
