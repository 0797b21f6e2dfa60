package dev.appshare.peer.ice;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices when this machine's addresses change (a new network, a VPN, a lost lease): the tunnels
 * that follow the interfaces then restart ICE, offering the addresses as they are now ({@link
 * #addresses}). One daemon thread per process lists the interfaces every {@value #POLL_MILLIS} ms
 * ({@link HostAddresses}), started by the first tunnel that asks; each change bumps {@link
 * #version()}. The event loops only read what it found: listing the interfaces is a system call per
 * interface, kept off them.
 */
public final class AddressWatch {
    static final long POLL_MILLIS = 5_000;
    private static volatile boolean started;
    private static volatile long version;
    private static volatile List<InetAddress> last;

    private AddressWatch() {}

    /** A number that changes whenever the set of local addresses has changed; any thread. */
    public static long version() {
        if (!started) start();
        return version;
    }

    /** The local addresses as last listed (every address of every interface that is up). */
    public static List<InetAddress> addresses() {
        if (!started) start();
        return last;
    }

    private static synchronized void start() {
        if (started) return;
        last = HostAddresses.all();
        ScheduledExecutorService thread =
                Executors.newSingleThreadScheduledExecutor(
                        new DefaultThreadFactory("address-watch", true));
        thread.scheduleWithFixedDelay(
                AddressWatch::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
        started = true;
    }

    /** On the watch's thread. An exception would end the schedule: none may leave. */
    private static void poll() {
        try {
            List<InetAddress> now = HostAddresses.listed();
            if (now == null || now.isEmpty()) return; // cannot tell: no change
            if (!new HashSet<>(now).equals(new HashSet<>(last))) {
                last = List.copyOf(now);
                version++; // one writer: this thread
            }
        } catch (RuntimeException e) {
            // the next poll tries again
        }
    }
}
