package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Promise;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The handshake deadline on an embedded event loop whose clock the test moves. */
class HandshakeDeadlineTest {
    private static final long MILLIS = 10_000;

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final EventLoop loop = channel.eventLoop();
    private final AtomicBoolean iceRunning = new AtomicBoolean();
    private final AtomicInteger expired = new AtomicInteger();
    private Promise<Void> iceSettled;

    @BeforeEach
    void freezeTheClock() {
        channel.freezeTime();
        iceSettled = loop.newPromise();
    }

    private HandshakeDeadline start() {
        return HandshakeDeadline.start(
                loop, iceRunning::get, iceSettled, MILLIS, expired::incrementAndGet);
    }

    private void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    @Test
    void expiresOnTimeWithoutIce() {
        start();
        advance(MILLIS - 1);
        assertEquals(0, expired.get());
        advance(1);
        assertEquals(1, expired.get());
        advance(10 * MILLIS);
        assertEquals(1, expired.get(), "once");
    }

    @Test
    void waitsForIceThenAllowsTheHandshakeItsTimeAgain() {
        iceRunning.set(true);
        start();
        advance(MILLIS);
        advance(5 * MILLIS);
        assertEquals(0, expired.get(), "ICE still works on a path: the tunnel stays");
        iceRunning.set(false);
        iceSettled.setSuccess(null);
        channel.runPendingTasks();
        advance(MILLIS - 1);
        assertEquals(0, expired.get(), "the handshake over the new path gets its full time");
        advance(1);
        assertEquals(1, expired.get());
    }

    @Test
    void extendsOnlyOnce() {
        iceRunning.set(true); // e.g. a settled future but a flag that lags: never wait twice
        start();
        advance(MILLIS);
        iceSettled.setSuccess(null);
        advance(MILLIS);
        assertEquals(1, expired.get());
    }

    @Test
    void cancelledNeverExpires() {
        iceRunning.set(true);
        HandshakeDeadline d = start();
        advance(MILLIS);
        d.cancel();
        iceSettled.setSuccess(null);
        advance(10 * MILLIS);
        assertEquals(0, expired.get());
    }
}
