package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
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

    /** Blocks until stopped; returns 0, or throws the failure that stopped it. */
    int awaitStop(AutoCloseable... resources) throws Exception {
        try {
            stop.await();
        } finally {
            for (AutoCloseable r : resources) {
                if (r != null) r.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(3, TimeUnit.SECONDS);
        }
        if (fatal != null) throw fatal;
        return 0;
    }

    void shutdown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    static PeerException asPeerException(Throwable t) {
        if (t instanceof PeerException pe) return pe;
        return new PeerException(1, t.getMessage() != null ? t.getMessage() : t.toString());
    }
}
