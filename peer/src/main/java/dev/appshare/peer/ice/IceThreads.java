package dev.appshare.peer.ice;

import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The threads every ICE session of a process shares, and the cap on how many sessions run at once.
 * A share accepts up to 1024 sessions; without a cap each would bring an agent with threads of its
 * own (ice4j reads each host address on a thread). Sessions past the cap take the relay only.
 */
final class IceThreads {
    private IceThreads() {}

    /**
     * ICE negotiations one process runs at once (from start until the agent is freed: a completed
     * one lingers {@link IceSession#LINGER_AFTER_COMPLETION_MILLIS} to answer the peer's last
     * checks). Enough for a burst of connectors on one share; each session costs ice4j a reader
     * thread per host address while it runs.
     */
    static final int MAX_SESSIONS = 8;

    /**
     * Threads that drive the agents. A session keeps to one of them, so its calls stay in order;
     * the tasks never block (ice4j's blocking calls go to {@link #BLOCKING}).
     */
    static final int AGENT_THREADS = 2;

    private static final Semaphore SLOTS = new Semaphore(MAX_SESSIONS);
    private static final EventExecutorGroup AGENTS =
            new DefaultEventExecutorGroup(AGENT_THREADS, new DefaultThreadFactory("ice", true));

    /**
     * ice4j's blocking calls (the reflexive harvest waits for STUN's answers): at most one per
     * running session, so the queue never overflows. (The STUN server's name is looked up by the
     * path layer's Resolver before ICE starts.)
     */
    private static final ExecutorService BLOCKING = blockingPool();

    private static ExecutorService blockingPool() {
        ThreadPoolExecutor pool =
                new ThreadPoolExecutor(
                        MAX_SESSIONS,
                        MAX_SESSIONS,
                        10,
                        TimeUnit.SECONDS,
                        new ArrayBlockingQueue<>(2 * MAX_SESSIONS),
                        new DefaultThreadFactory("ice-gather", true));
        pool.allowCoreThreadTimeOut(true); // an idle share keeps none
        return pool;
    }

    /**
     * Takes a session slot unless no more than {@code reserve} are free; false when {@link
     * #MAX_SESSIONS} already run (or all but the reserve).
     */
    static synchronized boolean tryAcquire(int reserve) {
        return SLOTS.availablePermits() > reserve && SLOTS.tryAcquire();
    }

    /** Gives back a slot taken with {@link #tryAcquire}. */
    static void release() {
        SLOTS.release();
    }

    /** The executor one session runs all its agent calls on, in order. */
    static EventExecutor agentExecutor() {
        return AGENTS.next();
    }

    static ExecutorService blocking() {
        return BLOCKING;
    }

    /** Takes every free slot until closed, as if that many sessions ran (for tests). */
    static AutoCloseable testOnlyTakeAllSlots() {
        int taken = SLOTS.drainPermits();
        return () -> SLOTS.release(taken);
    }

    /** Sessions running now (for tests). */
    static int testOnlyRunning() {
        return MAX_SESSIONS - SLOTS.availablePermits();
    }
}
