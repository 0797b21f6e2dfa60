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
