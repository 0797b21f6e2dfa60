package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
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
    private static final String FP = "ab".repeat(32);
    private static final String OWNER = "0f".repeat(16);

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
        // Port 0: TCP picks one, UDP (STUN) follows it; that number may be taken on UDP: retry.
        for (int attempt = 0; ; attempt++) {
            RendezvousServer.Config cfg = new RendezvousServer.Config();
            cfg.listen = new InetSocketAddress("127.0.0.1", 0);
            try {
                server =
                        new RendezvousServer(
                                        cfg,
                                        new RelayToken(
                                                RelayToken.randomSecret(), Clock.systemUTC()))
                                .start(group);
                return;
            } catch (IllegalStateException udpTaken) {
                if (attempt >= 10) throw udpTaken;
            }
        }
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void aShareThatPingsAndNeverReadsIsClosed() throws Exception {
        try (Client flooder = new Client(port(), true)) {
            flooder.send("REGISTER v=1 fp=" + FP + " owner=" + OWNER + " name=ping-flood");
            awaitRegistered("ping-flood");
            byte[] pings = batch("PING", 1000);
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
        try (Client quiet = new Client(port(), true);
                Client talker = new Client(port(), false)) {
            quiet.send("REGISTER v=1 fp=" + FP + " owner=" + OWNER + " name=quiet-app");
            awaitRegistered("quiet-app");
            talker.send("CONNECT v=1 name=quiet-app fp=" + FP);
            String accepted = talker.read();
            assertTrue(accepted.startsWith("ACCEPTED "), accepted);
            String session = field(accepted, "session");
            byte[] signals = batch("SIGNAL session=" + session + " cand=" + "x".repeat(4000), 16);
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
            quiet.send("PING");
            // Its backlog (REGISTERED, INCOMING, the SIGNALs forwarded) first, then its PONG.
            int forwarded = 0;
            String line;
            while ((line = quiet.read()).startsWith("REGISTERED ")
                    || line.startsWith("INCOMING ")
                    || line.startsWith("SIGNAL ")) {
                if (line.startsWith("SIGNAL ")) forwarded++;
            }
            assertEquals("PONG", line);
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
        try (Client share = new Client(port(), false);
                Client connector = new Client(port(), false)) {
            share.send("REGISTER v=1 fp=" + FP + " owner=" + OWNER + " name=normal-app");
            assertEquals("REGISTERED name=normal-app", share.read());
            connector.send("CONNECT v=1 name=normal-app fp=" + FP);
            String incoming = share.read();
            assertTrue(incoming.startsWith("INCOMING "), incoming);
            String accepted = connector.read();
            assertTrue(accepted.startsWith("ACCEPTED "), accepted);
            String session = field(accepted, "session");
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

    private void awaitRegistered(String name) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.registry().lookup(name) == null && System.nanoTime() < end) Thread.sleep(10);
        assertNotNull(server.registry().lookup(name), name + " registered");
    }

    private void awaitGone(String name) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (server.registry().lookup(name) != null && System.nanoTime() < end) Thread.sleep(10);
        assertNull(server.registry().lookup(name), name + " left");
    }

    private static String field(String line, String key) {
        for (String part : line.split(" ")) {
            if (part.startsWith(key + "=")) return part.substring(key.length() + 1);
        }
        throw new AssertionError("no " + key + " in " + line);
    }

    private static byte[] batch(String line, int count) {
        byte[] one = frame(line);
        ByteArrayOutputStream out = new ByteArrayOutputStream(one.length * count);
        for (int i = 0; i < count; i++) out.writeBytes(one);
        return out.toByteArray();
    }

    private static byte[] frame(String line) {
        byte[] body = line.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[2 + body.length];
        f[0] = (byte) (body.length >> 8);
        f[1] = (byte) body.length;
        System.arraycopy(body, 0, f, 2, body.length);
        return f;
    }

    /** A control connection from a plain socket: frames out, frames in. */
    private static final class Client implements AutoCloseable {
        final Socket socket = new Socket();
        final OutputStream out;
        final DataInputStream in;

        /**
         * @param tinyWindow a 4 KiB receive buffer, so that a peer that does not read stops taking
         *     bytes soon
         */
        Client(int port, boolean tinyWindow) throws IOException {
            if (tinyWindow) socket.setReceiveBufferSize(4096);
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(5000);
            out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
        }

        void send(String line) throws IOException {
            out.write(frame(line));
        }

        String read() throws IOException {
            byte[] body = new byte[in.readUnsignedShort()];
            in.readFully(body);
            return new String(body, StandardCharsets.UTF_8);
        }

        /** Reads what is left until the server's close; false if it stays open that long. */
        boolean closedWithin(int seconds) throws IOException {
            socket.setSoTimeout(seconds * 1000);
            try {
                in.readAllBytes();
                return true;
            } catch (SocketTimeoutException open) {
                return false;
            } catch (IOException reset) {
                return true;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
