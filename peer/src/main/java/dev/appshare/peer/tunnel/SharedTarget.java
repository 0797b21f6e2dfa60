package dev.appshare.peer.tunnel;

import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.Resolver;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The shared {@code HOST:PORT} (share --host, --port) as each stream dials it. A host name is
 * looked up once when the share starts and again after a dial fails (the host may have moved), both
 * off the event loops, never per stream: every stream's dial takes the last address found.
 */
public final class SharedTarget {
    private static final Logger log = LoggerFactory.getLogger(SharedTarget.class);

    private final InetSocketAddress configured;
    private final Resolver resolver;
    private final AtomicBoolean refreshing = new AtomicBoolean();
    private volatile InetSocketAddress current;

    public SharedTarget(InetSocketAddress configured, Resolver resolver) {
        this.configured = configured;
        this.resolver = resolver;
        this.current = configured.isUnresolved() ? null : configured;
    }

    /** The first lookup; completes (listeners on {@code executor}) once there is an address. */
    public Future<InetSocketAddress> resolve(EventExecutor executor) {
        Future<InetSocketAddress> f = resolver.resolve(configured, executor);
        f.addListener(r -> adopt(r));
        return f;
    }

    /** Where the next stream dials: resolved, so netty does no lookup on the stream's loop. */
    InetSocketAddress address() {
        InetSocketAddress a = current;
        if (a == null) throw new IllegalStateException("dialled before the first lookup");
        return a;
    }

    /**
     * A dial of {@code address} failed: look the name up again (one lookup at a time, off the
     * loops), unless a lookup since that dial began found another address already: a dial that
     * started before the last lookup finished must not make the next.
     */
    void dialFailed(InetSocketAddress address) {
        if (!configured.isUnresolved()
                || !address.equals(current)
                || !refreshing.compareAndSet(false, true)) return;
        resolver.resolve(configured, ImmediateEventExecutor.INSTANCE)
                .addListener(
                        r -> {
                            adopt(r);
                            refreshing.set(false);
                        });
    }

    private void adopt(Future<?> r) {
        if (!r.isSuccess()) {
            log.debug("cannot resolve {}: {}", HostPort.format(configured), r.cause().toString());
            return;
        }
        InetSocketAddress a = (InetSocketAddress) r.getNow();
        InetSocketAddress was = current;
        current = a;
        if (was != null && !was.equals(a))
            log.info("{} now resolves to {}", HostPort.format(configured), HostPort.literal(a));
    }

    /** The port connectors ask for. */
    public int port() {
        return configured.getPort();
    }

    /** As typed: for messages. */
    public String text() {
        return HostPort.format(configured);
    }
}
