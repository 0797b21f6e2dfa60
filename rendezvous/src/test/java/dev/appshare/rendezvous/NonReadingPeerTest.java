package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that sends and never reads: the server closes it once {@link RendezvousServer#QUEUE_HIGH}
 * bytes wait for it, instead of queueing without bound, and keeps serving everyone else. Real TCP
 * clients on loopback; the floods are bounded in bytes and time.
 */
class NonReadingPeerTest {

    /** Well past the kernel's socket buffers on both ends plus the server's bound. */
    private static final int MAX_FLOOD_BYTES = 8 << 20;

    private static final long MAX_FLOOD_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** The bound plus one message that crossed it, with netty's per-buffer bookkeeping. */
    private static final long QUEUE_BOUND =
            RendezvousServer.QUEUE_HIGH + 2L * RendezvousFrames.MAX_FRAME;

    private static EventLoopGroup group;
    private RendezvousServer server;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(2); // two loops: a SIGNAL crosses from one to the other
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() throws Exception {
        server = ControlClient.startServer(new RendezvousServer.Config(), group);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aShareThatPingsAndNeverReadsIsClosed() throws Exception {
        try (ControlClient flooder = new ControlClient(null, port(), true)) {
            assertEquals(
                    "REGISTERED name=ping-flood",
                    flooder.register(ControlClient.newKey(), "ping-flood"));
            byte[] pings = ControlClient.batch("PING", 1000);
            long sent = 0, start = System.nanoTime();
            boolean closed = false;
            while (sent < MAX_FLOOD_BYTES && System.nanoTime() - start < MAX_FLOOD_NANOS) {
                try {
                    flooder.out.write(pings);
                    sent += pings.length;
                } catch (IOException reset) {
                    closed = true;
                    break;
                }
            }
            assertTrue(closed, "the server did not close a peer that read nothing of " + sent);
            awaitGone("ping-flood");
        }
        // Closed at its PING budget (RendezvousHandler.PING_BURST) before its PONGs fill the queue.
        long peak = server.testOnlyPeakQueuedBytes();
        assertTrue(peak <= QUEUE_BOUND, "bytes queued for one peer: " + peak);
        normalPeersAreServed();
    }

    @Test
    void aSignalFloodAtAShareThatDoesNotReadIsCutAtTheSessionsBudget() throws Exception {
        try (ControlClient quiet = new ControlClient(null, port(), true);
                ControlClient talker = new ControlClient(null, port(), false)) {
            assertEquals(
                    "REGISTERED name=quiet-app",
                    quiet.register(ControlClient.newKey(), "quiet-app"));
            talker.send(ControlClient.connectLine("quiet-app"));
            String accepted = talker.read();
            assertTrue(accepted.startsWith("ACCEPTED "), accepted);
            String session = ControlClient.field(accepted, "session");
            byte[] signals =
                    ControlClient.batch(
                            "SIGNAL session=" + session + " cand=" + "x".repeat(4000), 16);
            long sent = 0, start = System.nanoTime();
            try {
                while (sent < MAX_FLOOD_BYTES && System.nanoTime() - start < MAX_FLOOD_NANOS) {
                    talker.out.write(signals);
                    sent += signals.length;
                }
            } catch (IOException closedByTheServer) {
                // the last resort: its partner's queue filled (RendezvousHandler.onSignal)
            }
            // A stranger who knows the name cannot knock the share off the rendezvous this way.
            assertNotNull(server.registry().lookup("quiet-app"), "the share stays registered");
            // The share now reads its backlog (INCOMING, the SIGNALs forwarded, and END when the
            // server closed the talker for filling the share's queue) until a second of silence:
            // its connection was kept open. (A PING sent before reading would itself be a
            // non-reader's: its PONG may find the queue still full, and that closes the share.)
            int forwarded = 0;
            quiet.socket.setSoTimeout(1_000);
            try {
                while (true) {
                    String line = quiet.read();
                    assertTrue(
                            line.startsWith("INCOMING ")
                                    || line.startsWith("SIGNAL ")
                                    || line.startsWith("END "),
                            line);
                    if (line.startsWith("SIGNAL ")) forwarded++;
                }
            } catch (java.net.SocketTimeoutException drained) {
                // all of it read
            }
            quiet.socket.setSoTimeout(0);
            quiet.send("PING");
            assertEquals("PONG", quiet.read());
            assertTrue(
                    forwarded <= RendezvousProtocol.MAX_SIGNALS_PER_SESSION,
                    forwarded + " of " + sent / signals.length * 16 + " SIGNALs forwarded");
        }
        long peak = server.testOnlyPeakQueuedBytes();
        assertTrue(peak <= QUEUE_BOUND, "bytes queued for one peer: " + peak);
        normalPeersAreServed();
    }

    /**
     * The other side of the rule above: a share that reads is never taken for one that does not.
     * Strangers who know only its name fill its queue for a moment with SIGNALs of their sessions
     * (within each session's budget; counted against the share's queue as soon as they are handed
     * to its event loop, before they reach its socket) and then CONNECT, and the share PINGs: the
     * INCOMINGs and PONGs that find its queue full must wait, not close it.
     */
    @Test
    void strangersSignalsAndConnectsDoNotKnockAReadingShareOff() throws Exception {
        try (ControlClient share = new ControlClient(null, port(), false)) {
            assertEquals(
                    "REGISTERED name=busy-app", share.register(ControlClient.newKey(), "busy-app"));
            java.util.concurrent.atomic.AtomicInteger pongs =
                    new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicReference<Exception> closed =
                    new java.util.concurrent.atomic.AtomicReference<>();
            share.socket.setSoTimeout(0);
            Thread reader =
                    new Thread(
                            () -> {
                                try {
                                    while (true)
                                        if (share.read().equals("PONG")) pongs.incrementAndGet();
                                } catch (Exception e) {
                                    closed.set(e);
                                }
                            });
            reader.setDaemon(true);
            reader.start();
            String pad = "a".repeat(8000);
            int rounds = 8,
                    pings = 0; // within the share's PING budget (RendezvousHandler.PING_BURST)
            for (int round = 0; round < rounds && closed.get() == null; round++) {
                String from = "127.0.7." + (round + 1); // within each address's look-up budget
                List<ControlClient> strangers = new java.util.ArrayList<>();
                try {
                    for (int i = 0; i < 3; i++) {
                        ControlClient c = new ControlClient(from, port());
                        strangers.add(c);
                        c.send(ControlClient.connectLine("busy-app"));
                        String accepted = c.read();
                        assertTrue(accepted.startsWith("ACCEPTED "), accepted);
                        String session = ControlClient.field(accepted, "session");
                        try {
                            c.out.write(
                                    ControlClient.batch(
                                            "SIGNAL session=" + session + " x=" + pad,
                                            RendezvousProtocol.MAX_SIGNALS_PER_SESSION));
                        } catch (IOException closedForSignallingTooFast) {
                            // the sender pays for a full queue (onForward): that is the rule
                        }
                    }
                    for (int i = 0; i < 3; i++) {
                        ControlClient c = new ControlClient(from, port());
                        strangers.add(c);
                        c.send(ControlClient.connectLine("busy-app"));
                    }
                    share.send("PING");
                    pings++;
                    for (int i = 3; i < 6; i++) strangers.get(i).read(); // ACCEPTED: INCOMING sent
                } finally {
                    for (ControlClient c : strangers) c.close();
                }
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pongs.get() < pings && closed.get() == null && System.nanoTime() < end)
                Thread.sleep(10);
            assertNull(closed.get(), "the server closed the share's connection");
            assertEquals(pings, pongs.get(), "every PING of the share answered");
            assertNotNull(server.registry().lookup("busy-app"), "the share stays registered");
        }
        normalPeersAreServed();
    }

    /**
     * ... while a share whose queue stays full is still one that does not read: the next message
     * for it once {@link RendezvousServer#NOT_READING_MILLIS} have passed closes it (on a clock the
     * test moves).
     */
    @Test
    void aShareWhoseQueueStaysFullIsClosedByTheNextMessageForIt() throws Exception {
        java.util.concurrent.atomic.AtomicLong clock =
                new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.nanoTime = clock::get;
        RendezvousServer clocked = ControlClient.startServer(cfg, group);
        int at = clocked.localAddress().getPort();
        try (ControlClient quiet = new ControlClient(null, at, true)) {
            assertEquals(
                    "REGISTERED name=stuck-app",
                    quiet.register(ControlClient.newKey(), "stuck-app"));
            fillQueue(clocked, "stuck-app", "127.0.8.");
            // Within the grace a CONNECT's INCOMING waits in the queue ...
            try (ControlClient early = new ControlClient("127.0.9.1", at)) {
                early.send(ControlClient.connectLine("stuck-app"));
                assertTrue(early.read().startsWith("ACCEPTED "));
            }
            assertNotNull(clocked.registry().lookup("stuck-app"), "not closed within the grace");
            // ... after it, the next one closes the share.
            clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(RendezvousServer.NOT_READING_MILLIS));
            try (ControlClient late = new ControlClient("127.0.9.2", at)) {
                late.send(ControlClient.connectLine("stuck-app"));
                late.read();
            } catch (IOException e) {
                // the session may end with the share before the connector reads its answer
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (clocked.registry().lookup("stuck-app") != null && System.nanoTime() < end)
                Thread.sleep(10);
            assertNull(clocked.registry().lookup("stuck-app"), "the share that does not read left");
        } finally {
            clocked.close();
        }
    }

    /**
     * A connection whose own queue is full (within that grace) and that sends bad frames gets at
     * most one ERROR, not one per frame: it could otherwise make the server queue ERRORs for it at
     * event-loop speed.
     */
    @Test
    void badFramesFromAConnectionWhoseQueueIsFullQueueNothingMore() throws Exception {
        try (ControlClient quiet = new ControlClient(null, port(), true)) {
            assertEquals(
                    "REGISTERED name=junk-app", quiet.register(ControlClient.newKey(), "junk-app"));
            fillQueue(server, "junk-app", "127.0.10.");
            long before = server.testOnlyPeakQueuedBytes();
            byte[] junk = new byte[2 * 20_000]; // 20,000 empty frames: each a bad request
            try {
                quiet.out.write(junk);
            } catch (IOException closedByTheServer) {
                // as it should be
            }
            Thread.sleep(500);
            long peak = server.testOnlyPeakQueuedBytes();
            assertTrue(
                    peak <= Math.max(before, QUEUE_BOUND),
                    "queued for it: " + peak + " (before the junk " + before + ")");
        }
    }

    /**
     * Strangers (from {@code from}1, 2, ...) fill the kernel's buffers and then the queue of the
     * share {@code name}, which does not read, with their sessions' SIGNALs (each is closed once it
     * finds the queue full), until the queue stays full.
     */
    private static void fillQueue(RendezvousServer at, String name, String from) throws Exception {
        io.netty.channel.Channel stuck = at.registry().lookup(name).channel();
        int port = at.localAddress().getPort();
        for (int i = 0; i < 64 && !staysUnwritable(stuck); i++) {
            try (ControlClient talker = new ControlClient(from + (i + 1), port)) {
                talker.send(ControlClient.connectLine(name));
                String session = ControlClient.field(talker.read(), "session");
                talker.out.write(
                        ControlClient.batch(
                                "SIGNAL session=" + session + " x=" + "y".repeat(8000),
                                RendezvousProtocol.MAX_SIGNALS_PER_SESSION));
            } catch (IOException closedForSignallingTooFast) {
                // as it should be
            }
        }
        assertTrue(staysUnwritable(stuck), "the share's queue filled");
    }

    private static boolean staysUnwritable(io.netty.channel.Channel c) throws InterruptedException {
        Thread.sleep(50); // what was handed to its loop reached the socket, or waits in the queue
        return !c.isWritable();
    }

    /** A share and a connector that read: register, connect, SIGNAL both ways, PING. */
    private void normalPeersAreServed() throws Exception {
        try (ControlClient share = new ControlClient(null, port(), false);
                ControlClient connector = new ControlClient(null, port(), false)) {
            assertEquals(
                    "REGISTERED name=normal-app",
                    share.register(ControlClient.newKey(), "normal-app"));
            connector.send(ControlClient.connectLine("normal-app"));
            String incoming = share.read();
            assertTrue(incoming.startsWith("INCOMING "), incoming);
            String accepted = connector.read();
            assertTrue(accepted.startsWith("ACCEPTED "), accepted);
            String session = ControlClient.field(accepted, "session");
            connector.send("SIGNAL session=" + session + " ufrag=abcd");
            assertEquals("SIGNAL session=" + session + " ufrag=abcd", share.read());
            share.send("SIGNAL session=" + session + " end=1");
            assertEquals("SIGNAL session=" + session + " end=1", connector.read());
            share.send("PING");
            assertEquals("PONG", share.read());
        }
    }

    private int port() {
        return server.localAddress().getPort();
    }

    private void awaitGone(String name) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.registry().lookup(name) != null && System.nanoTime() < end) Thread.sleep(10);
        assertNull(server.registry().lookup(name), name + " left");
    }
}
