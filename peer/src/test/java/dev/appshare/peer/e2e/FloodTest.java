package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.wire.net.DescriptorLimit;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.DataInputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Floods on loopback (issue 9): while a real share keeps downloading byte-exact to a connector,
 * attackers from other 127.0.0.x addresses throw at the rendezvous, the relay and both peers at
 * once junk, idle and kept-alive control connections, repeated CONNECTs on one connection, relay
 * token minting, a client that never reads, and junk UDP at the STUN port and at both peers' tunnel
 * sockets. The servers run with production per-address budgets (the honest peers are 127.0.0.1,
 * every attacker another address). The attackers know the share's number, not its code's words.
 * Asserted: a new connector gets through in under 5 s mid-flood; the process's threads, descriptors
 * and heap stay under the bounds below; each attacker was actually refused at its budget; the
 * sessions the attackers got cost the share no tunnel socket.
 */
class FloodTest {
    /** Every attack stops at its count or at this deadline, whichever is first. */
    static final long FLOOD_MILLIS = 8_000;

    /** The correctness bound under attack for a new connector's first bytes (not a benchmark). */
    static final long NEW_CONNECTOR_MILLIS = 5_000;

    /**
     * The share's app sends this stream paced at about 2 MiB/s, so that one download runs through
     * the whole flood and leaves the two cores to the servers; the new connector reads its start.
     */
    static final long DOWNLOAD_BYTES = 20 << 20, DOWNLOAD_SEED = 9, FIRST_BYTES = 256 << 10;

    static final long CHUNK_PAUSE_MILLIS = 30;
    static final int IDLE_PER_ADDRESS = 400, JUNK_PER_ADDRESS = 400, KEPT_ALIVE = 200;
    static final int REPEATED_CONNECTS = 200, MINTS_PER_ADDRESS = 200, RELAY_IDLE = 300;
    static final int NEVER_READ_BYTES = 8 << 20, UDP_DATAGRAMS = 30_000;

    /** The test's own threads: the attackers' pool, the descriptor monitor, one watchdog. */
    static final int ATTACK_POOL = 12, TEST_THREADS = ATTACK_POOL + 2;

    /**
     * Threads the flood may add to the process beyond the test's own: ICE runs at most 8 sessions
     * at once on fixed pools, everything else is on the event loops (about 13 seen). Before the
     * budgets, a CONNECT flood took a share past 1,200 threads.
     */
    static final int MAX_THREAD_GROWTH = TEST_THREADS + 32;

    /**
     * Descriptors the servers and the peers may add, counted as the process's (/proc/self/fd) less
     * the attackers' own client sockets: the rendezvous holds at most 128 for each of the three
     * addresses that keep connections open, the relay 128 for the one attacking it (about 420
     * seen). The share adds none for the ~30 sessions the token budgets let the attackers open: it
     * spends nothing on a session before its PAKE, which they cannot complete (asserted on its
     * tunnel sockets; it used to open a UDP socket and a relay connection for each, about 470 seen
     * then). Without the per-address budgets the idle connections alone would add 544 more.
     */
    static final int MAX_DESCRIPTOR_GROWTH = 1_000;

    /**
     * Heap the flood may leave behind, after a GC (about 1 MiB seen); the never-reader alone sends
     * 8 MiB of PINGs, and before the write bound such a client grew the server by gigabytes.
     */
    static final long MAX_HEAP_GROWTH = 64L << 20;

    private static final InetAddress JUNK_UDP_FROM = address("127.0.0.11");
    private static final String UNKNOWN_NAME = "nobody-here-0000";

    private final AtomicInteger attackerSockets = new AtomicInteger();
    private final ConcurrentLinkedQueue<AutoCloseable> toClose = new ConcurrentLinkedQueue<>();

    /**
     * The test holds about 2,500 descriptors at its peak, and the rendezvous's global cap (a
     * quarter of the limit) must stay above what the attackers' addresses may hold (3 × 128), else
     * the flood would test the global cap instead of the per-address budgets.
     */
    static final long MIN_DESCRIPTOR_LIMIT = 4_096;

    @Test
    void floodsLeaveTheShareTransferringAndANewConnectorGetsThrough() throws Exception {
        long limit = DescriptorLimit.soft().orElse(0);
        assumeTrue(
                limit >= MIN_DESCRIPTOR_LIMIT,
                "RLIMIT_NOFILE " + limit + " is under " + MIN_DESCRIPTOR_LIMIT);
        List<InetSocketAddress> shareSockets = new CopyOnWriteArrayList<>();
        List<InetSocketAddress> connectorSockets = new CopyOnWriteArrayList<>();
        AtomicInteger junkAtShare = new AtomicInteger(), junkAtConnector = new AtomicInteger();
        String expected =
                Bytes.send(OutputStream.nullOutputStream(), DOWNLOAD_BYTES, DOWNLOAD_SEED);
        String expectedFirst =
                Bytes.send(OutputStream.nullOutputStream(), FIRST_BYTES, DOWNLOAD_SEED);
        ExecutorService attackers = Executors.newFixedThreadPool(ATTACK_POOL);
        try (TestServers.Tcp download =
                        new TestServers.Tcp(
                                s ->
                                        Bytes.send(
                                                paced(s.getOutputStream()),
                                                DOWNLOAD_BYTES,
                                                DOWNLOAD_SEED));
                Lab lab = Lab.withProductionLimits()) {
            lab.transport = Transport.AUTO;
            lab.shareTap = () -> new SocketTap(shareSockets, junkAtShare);
            lab.connectorTap = () -> new SocketTap(connectorSockets, junkAtConnector);
            Sharer sharer = lab.share(download.port());
            Connector honest = lab.connect(sharer.name());
            lab.awaitLine("Path: direct", 0, 20_000);
            int tunnel = honest.localAddress().getPort();

            // The running download, through the flood, compared by digest at its end.
            AtomicLong downloaded = new AtomicLong();
            Future<Bytes.Digest> downloader =
                    attackers.submit(
                            () -> {
                                try (Socket s = new Socket("127.0.0.1", tunnel)) {
                                    return Bytes.drain(counting(s, downloaded));
                                }
                            });
            awaitAtLeast(downloaded, FIRST_BYTES, 20_000);

            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            long heapBefore = heapAfterGc(memory);
            int threadsBefore = threads.getThreadCount();
            long fdsBefore = descriptors();
            threads.resetPeakThreadCount();
            Monitor monitor = new Monitor();
            Thread monitoring = new Thread(monitor, "flood-monitor");
            monitoring.start();

            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FLOOD_MILLIS);
            int rdv = lab.server().getPort();
            String code = sharer.name();
            // The attackers know the share's number (the rendezvous's part of the code), not its
            // words: every session they get costs them a PAKE they cannot complete.
            String name = ShareCode.parse(code).name();
            long downloadedAtStart = downloaded.get();
            Future<int[]> idle2 = attackers.submit(() -> idle("127.0.0.2", rdv, deadline));
            Future<int[]> idle3 = attackers.submit(() -> idle("127.0.0.3", rdv, deadline));
            Future<int[]> junk4 = attackers.submit(() -> junk("127.0.0.4", rdv, deadline, 4));
            Future<int[]> junk5 = attackers.submit(() -> junk("127.0.0.5", rdv, deadline, 5));
            Future<int[]> keptAlive = attackers.submit(() -> keptAlive("127.0.0.6", rdv, deadline));
            Future<int[]> repeated = attackers.submit(() -> repeated("127.0.0.7", rdv, name));
            Future<int[]> mint8 = attackers.submit(() -> mint("127.0.0.8", rdv, name, deadline));
            Future<Boolean> neverReads =
                    attackers.submit(() -> neverReads("127.0.0.9", rdv, deadline));
            Future<int[]> relayIdle =
                    attackers.submit(() -> relayIdle("127.0.0.10", lab.relayPort(), deadline));
            InetSocketAddress stun = new InetSocketAddress("127.0.0.1", rdv);
            InetSocketAddress shareUdp =
                    new InetSocketAddress("127.0.0.1", shareSockets.get(0).getPort());
            InetSocketAddress connectorUdp =
                    new InetSocketAddress("127.0.0.1", connectorSockets.get(0).getPort());
            Future<Integer> udp =
                    attackers.submit(() -> junkUdp(deadline, stun, shareUdp, connectorUdp));

            // Mid-flood, a new connector from the honest address: its first 256 KiB within 5 s.
            Thread.sleep(FLOOD_MILLIS / 3);
            long t0 = System.nanoTime();
            Connector late = lab.connect(code);
            String first;
            try (Socket s = new Socket("127.0.0.1", late.localAddress().getPort())) {
                first = digestOf(s.getInputStream(), FIRST_BYTES);
            }
            long lateMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            late.close();

            int[] idleA = idle2.get(30, TimeUnit.SECONDS), idleB = idle3.get(30, TimeUnit.SECONDS);
            int[] junkA = junk4.get(30, TimeUnit.SECONDS), junkB = junk5.get(30, TimeUnit.SECONDS);
            int[] kept = keptAlive.get(30, TimeUnit.SECONDS);
            int[] rep = repeated.get(30, TimeUnit.SECONDS);
            int[] minted = mint8.get(30, TimeUnit.SECONDS);
            boolean neverReaderClosed = neverReads.get(30, TimeUnit.SECONDS);
            int[] relay = relayIdle.get(30, TimeUnit.SECONDS);
            int datagrams = udp.get(30, TimeUnit.SECONDS);
            long floodDownloaded = downloaded.get() - downloadedAtStart;
            monitor.stop();
            monitoring.join(5_000);
            int peakThreads = threads.getPeakThreadCount();
            long heapAfter = heapAfterGc(memory);
            boolean stunAnswers = stunAnswers(stun);
            closeAll();
            Bytes.Digest whole = downloader.get(60, TimeUnit.SECONDS);

            System.out.printf(
                    "flood: idle refused %d+%d of %d, timed out %d+%d; junk closed %d+%d of %d;"
                            + " kept-alive %d kept, %d refused; repeated CONNECTs %d accepted, busy"
                            + " %d; minting %d accepted, %d busy; never-reader closed %b; relay"
                            + " busy %d of %d; %d junk datagrams (%d reached the share's socket,"
                            + " %d the connector's); new connector %d ms; %d bytes of the download"
                            + " during the flood; threads %d -> peak %d; descriptors %d -> peak %d"
                            + " (attackers' own excluded); heap %d -> %d MiB%n",
                    idleA[0],
                    idleB[0],
                    idleA[2] + idleB[2],
                    idleA[1],
                    idleB[1],
                    junkA[0],
                    junkB[0],
                    junkA[1] + junkB[1],
                    kept[0],
                    kept[1],
                    rep[0],
                    rep[1],
                    minted[0],
                    minted[1],
                    neverReaderClosed,
                    relay[0],
                    RELAY_IDLE,
                    datagrams,
                    junkAtShare.get(),
                    junkAtConnector.get(),
                    lateMillis,
                    floodDownloaded,
                    threadsBefore,
                    peakThreads,
                    fdsBefore,
                    monitor.peakFds,
                    heapBefore >> 20,
                    heapAfter >> 20);

            // The honest users were served.
            assertEquals(expectedFirst, first, "the new connector's first MiB");
            assertTrue(
                    lateMillis < NEW_CONNECTOR_MILLIS,
                    "a new connector took " + lateMillis + " ms under the flood");
            assertEquals(expected, whole.sha256(), "the download, " + whole.length() + " bytes");
            assertTrue(
                    floodDownloaded >= FIRST_BYTES,
                    "the running download moved only " + floodDownloaded + " bytes in the flood");
            assertTrue(stunAnswers, "the STUN port answers a Binding request after the flood");

            // Each attacker was refused at its budget.
            for (int[] idle : new int[][] {idleA, idleB}) {
                assertTrue(
                        idle[0] >= idle[2] - ClientLimits.CONNECTIONS_PER_ADDRESS
                                && idle[2] > ClientLimits.CONNECTIONS_PER_ADDRESS,
                        "idle connections: " + idle[0] + " of " + idle[2] + " refused at once");
                assertEquals(idle[2], idle[0] + idle[1], "every idle one closed");
            }
            assertEquals(junkA[1] + junkB[1], junkA[0] + junkB[0], "every junk one closed");
            assertTrue(
                    kept[0] <= maxLookups(FLOOD_MILLIS),
                    "kept-alive: " + kept[0] + " kept, " + kept[1] + " refused");
            assertTrue(
                    rep[0] <= maxTokens(rep[2]) && rep[1] == 1 && rep[3] == 0,
                    "repeated CONNECTs: "
                            + rep[0]
                            + " accepted in "
                            + rep[2]
                            + " ms, then busy "
                            + rep[1]
                            + " (other answers "
                            + rep[3]
                            + ")");
            assertTrue(
                    minted[0] <= maxTokens(FLOOD_MILLIS) && minted[1] > 0,
                    "minting: " + minted[0] + " accepted, " + minted[1] + " busy");
            assertTrue(neverReaderClosed, "the client that never reads was closed");
            assertTrue(
                    relay[0] >= RELAY_IDLE - RelayServer.MAX_CONNECTIONS_PER_ADDRESS,
                    "relay connections refused busy: " + relay[0]);
            assertTrue(junkAtShare.get() > 0 && junkAtConnector.get() > 0, "junk UDP arrived");

            // The attackers' sessions cost the share nothing: it opens a tunnel socket (and with
            // it a relay connection and ICE) only for a connector that proved the code, so only
            // for the honest connectors' tunnels, one each.
            int attackerSessions = rep[0] + minted[0];
            System.out.printf(
                    "flood: the share opened %d tunnel sockets for %d honest tunnels and %d"
                            + " attackers' sessions%n",
                    shareSockets.size(), connectorSockets.size(), attackerSessions);
            assertTrue(
                    attackerSessions >= ClientLimits.TOKEN_BURST,
                    "the attackers got sessions at the share: " + attackerSessions);
            assertTrue(
                    shareSockets.size() <= connectorSockets.size(),
                    "the share opened "
                            + shareSockets.size()
                            + " tunnel sockets for "
                            + connectorSockets.size()
                            + " honest tunnels and "
                            + attackerSessions
                            + " attackers' sessions");

            // The process stayed within its bounds.
            assertTrue(
                    peakThreads - threadsBefore <= MAX_THREAD_GROWTH,
                    "threads " + threadsBefore + " -> " + peakThreads);
            assertTrue(
                    monitor.peakFds - fdsBefore <= MAX_DESCRIPTOR_GROWTH,
                    "descriptors " + fdsBefore + " -> " + monitor.peakFds);
            assertTrue(
                    heapAfter - heapBefore <= MAX_HEAP_GROWTH,
                    "heap " + (heapBefore >> 20) + " -> " + (heapAfter >> 20) + " MiB");
        } finally {
            closeAll();
            attackers.shutdownNow();
        }
    }

    /** Look-ups one address may make in {@code millis}: the burst and the refill, plus one. */
    static long maxLookups(long millis) {
        return ClientLimits.LOOKUP_BURST + ClientLimits.LOOKUPS_PER_SECOND * millis / 1000 + 1;
    }

    static long maxTokens(long millis) {
        return ClientLimits.TOKEN_BURST + ClientLimits.TOKENS_PER_SECOND * millis / 1000 + 1;
    }

    // ---- the attacks; each returns its counts ----

    /** Connections that say nothing: {refused at once, closed later by the handshake timeout}. */
    private int[] idle(String from, int port, long deadline) throws Exception {
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < IDLE_PER_ADDRESS && System.nanoTime() < deadline; i++) {
            open.add(connect(from, port));
        }
        // Refused ones are closed unanswered; admitted ones get "ERROR code=timeout" after 3 s.
        int refused = 0, timedOut = 0;
        for (Socket s : open) {
            byte[] answer = readUntilClosed(s, 15_000);
            if (new String(answer, StandardCharsets.UTF_8).contains("timeout")) timedOut++;
            else if (answer.length == 0) refused++;
            release(s);
        }
        return new int[] {refused, timedOut, open.size()};
    }

    /** Junk bytes, well framed or oversized: {closed by the server, opened}. */
    private int[] junk(String from, int port, long deadline, long seed) throws Exception {
        Random r = new Random(seed);
        int closed = 0, opened = 0;
        for (int i = 0; i < JUNK_PER_ADDRESS && System.nanoTime() < deadline; i++) {
            Socket s = connect(from, port);
            opened++;
            byte[] junk = new byte[2 + r.nextInt(300)];
            r.nextBytes(junk);
            int length = i % 2 == 0 ? junk.length - 2 : 0xffff; // a whole frame, or too long
            junk[0] = (byte) (length >> 8);
            junk[1] = (byte) length;
            try {
                s.getOutputStream().write(junk);
            } catch (IOException refusedAtOnce) {
                // closed before we wrote: counted below
            }
            readUntilClosed(s, 5_000); // fails the test if the server has not closed it
            closed++;
            release(s);
        }
        return new int[] {closed, opened};
    }

    /**
     * Connectors waiting for a name that never comes, holding their connections with PINGs: {kept
     * open, refused}.
     */
    private int[] keptAlive(String from, int port, long deadline) throws Exception {
        List<Socket> kept = new ArrayList<>();
        int refused = 0;
        for (int i = 0; i < KEPT_ALIVE && System.nanoTime() < deadline; i++) {
            Socket s = connect(from, port);
            try {
                writeFrame(s, "CONNECT v=2 name=" + UNKNOWN_NAME);
                String answer = readFrame(s, 5_000);
                if (answer != null && answer.contains("unknown-name")) {
                    kept.add(s);
                    continue;
                }
            } catch (IOException closed) {
                // refused at once (over the connection budget)
            }
            refused++;
            release(s);
        }
        while (System.nanoTime() < deadline) {
            for (Socket s : kept) {
                try {
                    writeFrame(s, "PING");
                } catch (IOException closed) {
                    // the server may close what it pleases; counted as kept all the same
                }
            }
            Thread.sleep(500);
        }
        return new int[] {kept.size(), refused};
    }

    /**
     * CONNECTs to the real share, all on one connection, each ended (END) as soon as it is accepted
     * so that the next may be asked (a CONNECT while a session is open is a bad request):
     * {ACCEPTED, busy and closed, milliseconds taken}. The share's PAKE messages to the attacker
     * are ignored.
     */
    private int[] repeated(String from, int port, String name) throws Exception {
        Socket s = connect(from, port);
        long t0 = System.nanoTime();
        int accepted = 0, busy = 0, other = 0;
        try {
            for (int i = 0; i < REPEATED_CONNECTS; i++) {
                writeFrame(s, "CONNECT v=2 name=" + name);
                String answer;
                do answer = readFrame(s, 5_000);
                while (answer != null && answer.startsWith("PAKE "));
                if (answer == null) break; // closed
                if (answer.startsWith("ACCEPTED")) {
                    accepted++;
                    String session = answer.replaceAll(".*session=([0-9a-f]+).*", "$1");
                    writeFrame(s, "END session=" + session);
                } else {
                    if (answer.startsWith("ERROR") && answer.contains("busy")) busy++;
                    else other++;
                    while (readFrame(s, 5_000) != null) {} // until the server closes it
                    break;
                }
            }
        } catch (IOException closedMidway) {
            // the server closed it: what the counts show
        }
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        release(s);
        return new int[] {accepted, busy, (int) millis, other};
    }

    /** Relay-token minting: a fresh connection per CONNECT to the real share. */
    private int[] mint(String from, int port, String name, long deadline) throws Exception {
        int accepted = 0, busy = 0;
        for (int i = 0; i < MINTS_PER_ADDRESS && System.nanoTime() < deadline; i++) {
            Socket s = connect(from, port);
            try {
                writeFrame(s, "CONNECT v=2 name=" + name);
                String answer = readFrame(s, 5_000);
                if (answer != null && answer.startsWith("ACCEPTED")) accepted++;
                if (answer != null && answer.contains("busy")) busy++;
            } catch (IOException closed) {
                // refused
            }
            release(s);
        }
        return new int[] {accepted, busy};
    }

    /** PINGs without ever reading a PONG; true when the server closed the connection. */
    private boolean neverReads(String from, int port, long deadline) throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        track(s);
        // A stalled write must not outlive the flood: closed then, it fails the assertion.
        Thread watchdog =
                new Thread(
                        () -> {
                            try {
                                Thread.sleep(
                                        TimeUnit.NANOSECONDS.toMillis(
                                                deadline - System.nanoTime() + 5_000));
                                s.close();
                            } catch (Exception ignored) {
                                // interrupted: the server closed it first
                            }
                        });
        watchdog.start();
        byte[] pings = new byte[6 * 10_000];
        for (int i = 0; i < pings.length; i += 6) System.arraycopy(frame("PING"), 0, pings, i, 6);
        boolean closedByServer = false;
        try {
            OutputStream out = s.getOutputStream();
            out.write(frame("CONNECT v=2 name=" + UNKNOWN_NAME));
            for (int sent = 0; sent < NEVER_READ_BYTES; sent += pings.length) out.write(pings);
        } catch (IOException e) {
            closedByServer = !s.isClosed(); // not our watchdog's doing
        }
        watchdog.interrupt();
        release(s);
        return closedByServer;
    }

    /** Connections to the relay that never send a pairing line: {ERR busy at once, others}. */
    private int[] relayIdle(String from, int port, long deadline) throws Exception {
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < RELAY_IDLE; i++) open.add(connect(from, port));
        // Refused ones get "ERR busy" at once; admitted ones wait for a pairing line (10 s) and
        // stay open, holding the address's budget, until the test ends. Polled until the flood
        // ends, so a loaded machine's slow answers are still counted.
        List<Socket> unanswered = new ArrayList<>(open);
        int busy = 0;
        while (busy < RELAY_IDLE - RelayServer.MAX_CONNECTIONS_PER_ADDRESS
                && System.nanoTime() < deadline) {
            Thread.sleep(100);
            for (Iterator<Socket> it = unanswered.iterator(); it.hasNext(); ) {
                Socket s = it.next();
                s.setSoTimeout(1);
                try {
                    byte[] line = new byte[16];
                    int n = s.getInputStream().read(line);
                    String text = n > 0 ? new String(line, 0, n, StandardCharsets.US_ASCII) : "";
                    if (text.contains("busy")) busy++;
                    it.remove();
                } catch (SocketTimeoutException waiting) {
                    // admitted, or its answer not here yet
                } catch (IOException reset) {
                    it.remove();
                }
            }
        }
        return new int[] {busy, open.size() - busy};
    }

    /**
     * Random datagrams, some shaped like STUN and like QUIC Initial packets, at the rendezvous's
     * STUN port and at both peers' tunnel sockets; returns how many were sent.
     */
    private int junkUdp(long deadline, InetSocketAddress... targets) throws Exception {
        Random r = new Random(11);
        int sent = 0;
        try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(JUNK_UDP_FROM, 0))) {
            for (; sent < UDP_DATAGRAMS && System.nanoTime() < deadline; sent++) {
                byte[] junk = new byte[1 + r.nextInt(1300)];
                r.nextBytes(junk);
                switch (sent % 3) {
                    case 0 -> { // a STUN Binding request header with a random body
                        if (junk.length < 20) junk = Arrays.copyOf(junk, 20);
                        ByteBuffer.wrap(junk)
                                .putShort((short) 1)
                                .putShort((short) (junk.length - 20))
                                .putInt(0x2112A442);
                    }
                    case 1 -> { // a QUIC v1 long-header Initial, padded to 1200 bytes
                        junk = Arrays.copyOf(junk, Math.max(1200, junk.length));
                        ByteBuffer.wrap(junk).put((byte) 0xC3).putInt(1).put((byte) 8);
                    }
                    default -> {}
                }
                udp.send(new DatagramPacket(junk, junk.length, targets[sent % targets.length]));
                if (sent % 200 == 0) Thread.sleep(1); // paced: loopback drops what overflows
            }
        }
        return sent;
    }

    /** A well-formed STUN Binding request gets its answer (a few tries: it is UDP). */
    private static boolean stunAnswers(InetSocketAddress stun) throws IOException {
        try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            udp.setSoTimeout(1_000);
            byte[] request = new byte[20];
            ByteBuffer.wrap(request).putShort((short) 1).putShort((short) 0).putInt(0x2112A442);
            new Random(12).nextBytes(Arrays.copyOfRange(request, 8, 20));
            for (int attempt = 0; attempt < 5; attempt++) {
                udp.send(new DatagramPacket(request, request.length, stun));
                byte[] answer = new byte[1500];
                DatagramPacket p = new DatagramPacket(answer, answer.length);
                try {
                    udp.receive(p);
                } catch (SocketTimeoutException lost) {
                    continue;
                }
                // A Binding success response (0x0101) for our transaction.
                if (answer[0] == 1
                        && answer[1] == 1
                        && Arrays.equals(answer, 8, 20, request, 8, 20)) return true;
            }
            return false;
        }
    }

    // ---- helpers ----

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private Socket connect(String from, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        track(s);
        return s;
    }

    private void track(Socket s) {
        attackerSockets.incrementAndGet();
        toClose.add(s);
    }

    private void release(Socket s) throws IOException {
        if (toClose.remove(s)) {
            s.close();
            attackerSockets.decrementAndGet();
        }
    }

    private void closeAll() {
        AutoCloseable c;
        while ((c = toClose.poll()) != null) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing anyway
            }
            attackerSockets.decrementAndGet();
        }
    }

    /** True if the peer has closed (or reset) the connection already. */
    private static boolean closedNow(Socket s) throws IOException {
        s.setSoTimeout(1);
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketTimeoutException open) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    /** Reads until the server closes; fails the test if it has not within {@code millis}. */
    private static byte[] readUntilClosed(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        try {
            return s.getInputStream().readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError(
                    "the server did not close a connection within " + millis + " ms");
        } catch (IOException reset) {
            return new byte[0];
        }
    }

    private static byte[] frame(String message) {
        byte[] body = message.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[2 + body.length];
        f[0] = (byte) (body.length >> 8);
        f[1] = (byte) body.length;
        System.arraycopy(body, 0, f, 2, body.length);
        return f;
    }

    private static void writeFrame(Socket s, String message) throws IOException {
        s.getOutputStream().write(frame(message));
    }

    /** One control frame's text, or null at the end of the stream (or a reset). */
    private static String readFrame(Socket s, int millis) throws IOException {
        s.setSoTimeout(millis);
        DataInputStream in = new DataInputStream(s.getInputStream());
        try {
            byte[] body = new byte[in.readUnsignedShort()];
            in.readFully(body);
            return new String(body, StandardCharsets.UTF_8);
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no answer within " + millis + " ms");
        } catch (IOException closed) {
            return null;
        }
    }

    private static String digestOf(InputStream in, long n) throws IOException {
        byte[] bytes = in.readNBytes((int) n);
        assertEquals(n, bytes.length, "bytes before the end of the stream");
        return HexFormat.of().formatHex(Bytes.sha256().digest(bytes));
    }

    /** Pauses after each write: Bytes.send writes 64 KiB at a time. */
    private static OutputStream paced(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                try {
                    Thread.sleep(CHUNK_PAUSE_MILLIS);
                } catch (InterruptedException e) {
                    throw new InterruptedIOException();
                }
            }
        };
    }

    private static InputStream counting(Socket s, AtomicLong count) throws IOException {
        InputStream in = s.getInputStream();
        return new FilterInputStream(in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n > 0) count.addAndGet(n);
                return n;
            }
        };
    }

    private static void awaitAtLeast(AtomicLong value, long atLeast, long millis)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (value.get() < atLeast && System.nanoTime() < end) Thread.sleep(20);
        assertTrue(value.get() >= atLeast, "only " + value.get() + " bytes downloaded");
    }

    private static long heapAfterGc(MemoryMXBean memory) throws InterruptedException {
        System.gc();
        Thread.sleep(100);
        return memory.getHeapMemoryUsage().getUsed();
    }

    private static long descriptors() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** Samples the process's descriptors, less the attackers' own sockets, for the peak. */
    private final class Monitor implements Runnable {
        volatile boolean running = true;
        volatile long peakFds;

        @Override
        public void run() {
            while (running) {
                try {
                    peakFds = Math.max(peakFds, descriptors() - attackerSockets.get());
                    Thread.sleep(50);
                } catch (Exception e) {
                    return;
                }
            }
        }

        void stop() {
            running = false;
        }
    }

    /** In front of a tunnel socket: notes where it is bound and counts the attackers' datagrams. */
    private static final class SocketTap extends ChannelInboundHandlerAdapter {
        private final List<InetSocketAddress> bound;
        private final AtomicInteger junk;

        SocketTap(List<InetSocketAddress> bound, AtomicInteger junk) {
            this.bound = bound;
            this.junk = junk;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            bound.add((InetSocketAddress) ctx.channel().localAddress());
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof AddressedEnvelope<?, ?> e
                    && e.sender() instanceof InetSocketAddress from
                    && from.getAddress().equals(JUNK_UDP_FROM)) junk.incrementAndGet();
            ctx.fireChannelRead(msg);
        }
    }
}
