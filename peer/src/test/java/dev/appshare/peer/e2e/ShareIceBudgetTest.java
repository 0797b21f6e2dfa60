package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many connectors on one share: ICE's threads stay within a fixed budget however many sessions
 * arrive, and the sessions past the cap on concurrent ICE carry their bytes over the relay.
 */
class ShareIceBudgetTest {
    static final int SESSIONS = 40;

    /**
     * Threads the 40 sessions may add: ICE's shared pools and the capped sessions' ice4j threads.
     */
    static final int MAX_THREAD_GROWTH = 40;

    @Test
    void fortySessionsKeepIceThreadsBoundedAndThoseOverTheCapStayOnTheRelay() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.AUTO)) {
            Sharer sharer = lab.share(echo.port());
            // One session first, completed and gone: class loading, ice4j's static pools.
            try (Connector warm = lab.connect(sharer.name())) {
                lab.awaitLine("Path: direct", 0, 20_000);
            }
            awaitNoIceRunning();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            int before = threads.getThreadCount();
            threads.resetPeakThreadCount();

            List<List<String>> consoles = new ArrayList<>();
            List<Connector> connectors = new ArrayList<>();
            for (int i = 0; i < SESSIONS; i++) {
                List<String> lines = new CopyOnWriteArrayList<>();
                consoles.add(lines);
                Connector c = lab.connect(sharer.name(), lines::add);
                connectors.add(c);
                assertEquals(
                        "up " + i,
                        ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "up " + i));
            }
            awaitNoIceRunning(); // every session has its path for good now
            int growth = threads.getPeakThreadCount() - before;
            assertTrue(
                    growth <= MAX_THREAD_GROWTH,
                    SESSIONS + " sessions added up to " + growth + " threads");

            int relayOnly = 0;
            for (int i = 0; i < SESSIONS; i++) {
                List<String> lines = consoles.get(i);
                assertTrue(
                        lines.stream()
                                .filter(l -> l.startsWith("Path: "))
                                .findFirst()
                                .orElse("")
                                .startsWith("Path: relay"),
                        "session " + i + ": " + lines);
                if (lines.stream().anyMatch(l -> l.startsWith("Path: direct"))) continue;
                relayOnly++;
                assertEquals(
                        "relay " + i,
                        ShareLifecycleTest.echoOnce(
                                connectors.get(i).localAddress().getPort(), "relay " + i));
            }
            System.out.println(
                    SESSIONS
                            + " sessions: "
                            + growth
                            + " threads more at most, "
                            + relayOnly
                            + " on the relay only");
            assertTrue(
                    relayOnly >= SESSIONS - 4 * IceSession.MAX_SESSIONS,
                    relayOnly + " of " + SESSIONS + " sessions stayed on the relay");
        }
    }

    @Test
    void aDirectOnlySessionOverTheCapFailsWithTheReason() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.DIRECT)) {
            Sharer sharer = lab.share(echo.port());
            ExecutionException e;
            try (AutoCloseable full = IceSession.testOnlyTakeAllSlots()) {
                e = assertThrows(ExecutionException.class, () -> lab.connect(sharer.name()));
            }
            assertTrue(
                    e.getCause().getMessage().contains("already runs its most ICE negotiations"),
                    e.getCause().toString());
            // With the slots back, the next connector goes direct.
            int skip = lab.consoleLines.size();
            Connector c = lab.connect(sharer.name());
            assertTrue(lab.awaitLine("Path: ", skip, 20_000).startsWith("Path: direct"));
            assertEquals(
                    "direct", ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "direct"));
        }
    }

    /** Sessions that validated linger 10 s; those that do not give up within 15 s. */
    private static void awaitNoIceRunning() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (IceSession.testOnlyRunning() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(0, IceSession.testOnlyRunning(), "ICE sessions still running");
    }
}
