package dev.appshare.cli;

import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;

/**
 * Ctrl-C and SIGTERM end a command cleanly: the command's own code closes its connections and
 * releases its name, and the process exits 0. (A JVM shutdown hook alone would exit 130/143.)
 */
final class StopSignal {
    private final CountDownLatch stop = new CountDownLatch(1);

    StopSignal() {
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> stop.countDown());
            } catch (IllegalArgumentException ignored) {
                // signal not available on this platform
            }
        }
    }

    void trigger() {
        stop.countDown();
    }

    boolean isTriggered() {
        return stop.getCount() == 0;
    }

    void await() throws InterruptedException {
        stop.await();
    }
}
