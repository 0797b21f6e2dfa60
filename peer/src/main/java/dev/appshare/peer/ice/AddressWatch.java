package dev.appshare.peer.ice;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices when this machine's addresses change (a new network, a VPN, a lost lease): the tunnels
 * that follow the interfaces then restart ICE. One daemon thread per process lists the interfaces
 * every {@value #POLL_MILLIS} ms ({@link HostAddresses#all}), started by the first tunnel that
 * asks; each change bumps {@link #version()}.
 */
public final class AddressWatch {
    static final long POLL_MILLIS = 5_000;
    private static volatile long version;
    private static Set<InetAddress> last;
    private static ScheduledExecutorService thread;

    private AddressWatch() {}

    /** A number that changes whenever the set of local addresses has changed; any thread. */
    public static long version() {
        start();
        return version;
    }

    private static synchronized void start() {
        if (thread != null) return;
        last = new HashSet<>(HostAddresses.all());
        thread =
                Executors.newSingleThreadScheduledExecutor(
                        new DefaultThreadFactory("address-watch", true));
        thread.scheduleWithFixedDelay(
                AddressWatch::poll, POLL_MILLIS, POLL_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static synchronized void poll() {
        Set<InetAddress> now = new HashSet<>(HostAddresses.all());
        if (!now.equals(last)) {
            last = now;
            version++;
        }
    }
}
