package dev.appshare.wire.net;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads {@link Resolver#resolve} blocks on: plain daemon threads, never netty's. Lookups are
 * rare (the rendezvous and relay once per connection to them, a shared host at start and after a
 * failed dial), so {@value #THREADS} threads, idle ones ending after {@value #IDLE_SECONDS} s, and
 * a queue of {@value #QUEUE} beyond which a lookup fails rather than waits.
 */
final class ResolverThreads {
    static final int THREADS = 2;
    static final int QUEUE = 64;
    static final int IDLE_SECONDS = 30;

    private static final AtomicInteger COUNT = new AtomicInteger();

    static final ExecutorService POOL = newPool();

    private ResolverThreads() {}

    private static ExecutorService newPool() {
        ThreadPoolExecutor pool =
                new ThreadPoolExecutor(
                        THREADS,
                        THREADS,
                        IDLE_SECONDS,
                        TimeUnit.SECONDS,
                        new ArrayBlockingQueue<>(QUEUE),
                        r -> {
                            Thread t = new Thread(r, "appshare-resolve-" + COUNT.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }
}
