package dev.appshare.peer.tunnel;

import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.PromiseCombiner;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The ports a share exposes (share --port, repeatable), each by the port number a connector asks
 * for: a stream's preamble picks one, and a port not in this table is refused.
 */
public final class SharedTargets {
    private final Map<Integer, SharedTarget> byPort;

    private SharedTargets(Map<Integer, SharedTarget> byPort) {
        this.byPort = Collections.unmodifiableMap(byPort);
    }

    /** At least one target, no port twice (two hosts on one port could not be told apart). */
    public static SharedTargets of(List<SharedTarget> targets) {
        if (targets.isEmpty()) throw new IllegalArgumentException("no port to share");
        Map<Integer, SharedTarget> m = new LinkedHashMap<>();
        for (SharedTarget t : targets) {
            SharedTarget was = m.putIfAbsent(t.port(), t);
            if (was != null)
                throw new IllegalArgumentException(
                        "port "
                                + t.port()
                                + " is shared twice ("
                                + was.text()
                                + ", "
                                + t.text()
                                + ")");
        }
        return new SharedTargets(m);
    }

    public static SharedTargets of(SharedTarget... targets) {
        return of(List.of(targets));
    }

    /** The target a stream asked for, or null if this share does not expose it. */
    public SharedTarget pick(StreamPreamble.Request r) {
        SharedTarget t = r.kind() == StreamPreamble.OPEN_TCP ? null : byPort.get(r.port());
        if (t == null && r.takesOnlyPort() && byPort.size() == 1)
            t = byPort.values().iterator().next();
        return t;
    }

    /** Looks every host up once; completes when all have an address. */
    public Future<Void> resolve(EventExecutor executor) {
        Promise<Void> all = executor.newPromise();
        executor.execute(
                () -> {
                    PromiseCombiner combiner = new PromiseCombiner(executor);
                    for (SharedTarget t : byPort.values()) combiner.add(t.resolve(executor));
                    combiner.finish(all);
                });
        return all;
    }

    public Collection<SharedTarget> all() {
        return byPort.values();
    }

    /** For the share's {@code Ports:} line: the port numbers connectors ask for. */
    public String ports() {
        return byPort.keySet().stream().map(String::valueOf).collect(Collectors.joining(", "));
    }

    /** As typed, for messages. */
    public String text() {
        return byPort.values().stream().map(SharedTarget::text).collect(Collectors.joining(", "));
    }
}
