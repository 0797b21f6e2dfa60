package dev.appshare.relay;

import static dev.appshare.relay.PairingHandlerTest.send;
import static dev.appshare.relay.PairingHandlerTest.written;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The idle limit of a spliced pair, on {@link EmbeddedChannel}s with frozen clocks that the test
 * advances: silence in both directions for {@link RelayProtocol#SPLICE_IDLE_MILLIS} closes both
 * sides; traffic in one direction only keeps both open.
 */
class SpliceIdleTest {
    final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    final RelayServer relay = new RelayServer(tokens, 10_000);
    EmbeddedChannel a;
    EmbeddedChannel b;

    EmbeddedChannel connection() {
        EmbeddedChannel ch =
                new EmbeddedChannel(
                        new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel c) {
                                relay.initPairing(c);
                            }
                        });
        ch.freezeTime();
        return ch;
    }

    /** Two connections with the same token, spliced, "OK" read off both. */
    void pair() {
        String token = tokens.mint(30_000);
        a = connection();
        b = connection();
        send(a, "RELAY " + token + "\n");
        send(b, "RELAY " + token + "\n");
        runTasks();
        assertEquals("OK\n", written(a));
        assertEquals("OK\n", written(b));
    }

    void runTasks() {
        for (int i = 0; i < 3; i++) {
            a.runPendingTasks();
            b.runPendingTasks();
        }
    }

    /** Moves both connections' clocks on and runs what fell due, then what that queued. */
    void advance(long millis) {
        a.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        b.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        a.runScheduledPendingTasks();
        b.runScheduledPendingTasks();
        runTasks();
    }

    @AfterEach
    void release() {
        if (a != null) a.finishAndReleaseAll();
        if (b != null) b.finishAndReleaseAll();
    }

    @Test
    void aPairSilentInBothDirectionsIsClosedAfterTheIdlePeriod() {
        pair();
        advance(RelayProtocol.SPLICE_IDLE_MILLIS - 1_000);
        assertTrue(a.isActive() && b.isActive(), "open just before the idle period ends");
        advance(1_000);
        assertFalse(a.isActive(), "side a closed");
        assertFalse(b.isActive(), "side b closed");
    }

    @Test
    void trafficInOneDirectionOnlyKeepsBothSidesOpen() {
        pair();
        // Ten idle periods' worth of time, with a byte from a to b every half period; b never
        // sends.
        long step = RelayProtocol.SPLICE_IDLE_MILLIS / 2;
        for (int i = 0; i < 20; i++) {
            advance(step);
            send(a, "x");
            runTasks();
            assertEquals("x", written(b));
            assertTrue(a.isActive() && b.isActive(), "open after " + (i + 1) * step + " ms");
        }
        // Then silence: both close.
        advance(RelayProtocol.SPLICE_IDLE_MILLIS);
        assertFalse(a.isActive() || b.isActive(), "closed once the traffic stopped");
    }
}
