package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.wire.net.Closeables;
import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a long-lived command: one event loop group, a clean stop on Ctrl-C or SIGTERM. */
final class Runner {
    final EventLoopGroup group =
            EventLoops.newGroup(Math.max(2, Runtime.getRuntime().availableProcessors()));
    final StopSignal stop = new StopSignal();
    private volatile PeerException fatal;

    /** Waits for a start-up future (or a stop signal); a failure becomes the command's error. */
    <T> T await(Future<T> f) throws InterruptedException {
        while (!f.await(100, TimeUnit.MILLISECONDS)) {
            if (stop.isTriggered()) return null;
        }
        if (!f.isSuccess()) throw asPeerException(f.cause());
        return f.getNow();
    }

    /** Ends the command with an error as soon as {@code f} fails. */
    void failOn(Future<?> f) {
        f.addListener(
                x -> {
                    if (!x.isSuccess()) {
                        fatal = asPeerException(x.cause());
                        stop.trigger();
                    }
                });
    }

    /**
     * Blocks until stopped, then closes every resource and shuts the event loops down, whatever
     * fails on the way (one close that throws must not leave the others open or the loops running).
     * Returns 0, or throws what stopped the command, else the first failure to close, with the
     * later ones suppressed.
     */
    int awaitStop(AutoCloseable... resources) throws Exception {
        List<Exception> failures = new ArrayList<>();
        try {
            stop.await();
        } catch (InterruptedException e) {
            failures.add(e);
        }
        Closeables.closeEach(failures, resources);
        try {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            failures.add(e);
        }
        if (fatal != null) failures.add(0, fatal);
        if (failures.isEmpty()) return 0;
        if (failures.stream().anyMatch(e -> e instanceof InterruptedException))
            Thread.currentThread().interrupt();
        throw Closeables.first(failures);
    }

    void shutdown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    static PeerException asPeerException(Throwable t) {
        if (t instanceof PeerException pe) return pe;
        return new PeerException(1, t.getMessage() != null ? t.getMessage() : t.toString());
    }
}
