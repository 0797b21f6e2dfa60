package dev.appshare.peer.trust;

import static dev.appshare.peer.share.ProvingConnectors.FIRST_STEP_TIMEOUT_MILLIS;
import static dev.appshare.peer.share.ProvingConnectors.MAX_PROVING;
import static dev.appshare.peer.share.ProvingConnectors.MAX_PROVING_PER_ADDRESS;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.ACCEPTED;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.CONNECT;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.END;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.ERROR;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.E_BUSY;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.INCOMING;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.PAKE;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.REFUSED_BUSY;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.VERSION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Strangers who know a share's number (the rendezvous's part of its code) but not its words try to
 * keep real connectors out by holding the share's PAKE slots ({@link
 * dev.appshare.peer.share.ProvingConnectors}: {@value
 * dev.appshare.peer.share.ProvingConnectors#MAX_PROVING} at once, {@value
 * dev.appshare.peer.share.ProvingConnectors#MAX_PROVING_PER_ADDRESS} per source address). The
 * rendezvous runs with its production per-address budgets; every stranger has its own 127.0.0.x,
 * the share and the real connector are 127.0.0.1. The share's control connection runs through a
 * {@link ControlProxy} that notes the time of every message, from which the test works out when
 * each attempt took a slot at the share (its INCOMING) and how it gave it back: the connector's END
 * passed on by the server, the share's own END (its deadline), a refusal, or the real connector's
 * confirmation.
 *
 * <p>(a) Walk-aways: {@value #WALKERS} addresses (more than MAX_PROVING / MAX_PROVING_PER_ADDRESS)
 * CONNECT, read ACCEPTED and leave without a PAKE, as fast as the budgets let them, for {@value
 * #WALK_MILLIS} ms: half close the connection, half send END and ask again on it. Each attempt's
 * slot is freed by the END the server passes on (for both kinds), none waits for the share's
 * deadline, and a real connector, started as soon as the walk-aways had sessions enough to fill
 * every slot twice, has its echo round trip within {@value #THROUGH_MILLIS} ms, not refused busy (a
 * share that kept their slots until its deadline would refuse its first three asks).
 *
 * <p>(b) Silent holders: {@value #HOLDERS} addresses (fewer than 16) each hold two CONNECTs open
 * without a PAKE step 1, asking again each time the share drops one, for {@value #HOLD_MILLIS} ms.
 * The share drops each within FIRST_STEP_TIMEOUT_MILLIS (and some slack), never holds more than two
 * for one address (a third CONNECT from each is refused busy), and a real connector gets through
 * within {@value #THROUGH_MILLIS} ms without being refused.
 *
 * <p>(c) In both, the share opens a tunnel socket (and with it a relay connection) for the real
 * connectors only (one before the strangers come, which also warms the JVM's tunnel code up, and
 * the one under attack), the process's threads and descriptors stay within small bounds, and the
 * share keeps its one control connection (the strangers never knock it off the rendezvous).
 */
class PakeSlotsTest {
    /** Walk-away addresses: more than MAX_PROVING / MAX_PROVING_PER_ADDRESS (16). */
    static final int WALKERS = 20;

    static final long WALK_MILLIS = 8_000;

    /** The correctness bound for a real connector's echo round trip (not a benchmark). */
    static final long THROUGH_MILLIS = 5_000;

    /** Silent addresses: fewer than 16, so that together they cannot hold every slot. */
    static final int HOLDERS = 15;

    /** Long enough that every held attempt meets the share's first-step deadline at least once. */
    static final long HOLD_MILLIS = 11_000;

    /**
     * What a held slot may outlive FIRST_STEP_TIMEOUT_MILLIS by (scheduling, the proxy; about 150
     * ms seen), well under the PAKE_TIMEOUT_MILLIS (10 s) a share without the first-step deadline
     * holds one for.
     */
    static final long HOLD_SLACK_MILLIS = 2_500;

    /**
     * Threads beyond the strangers' own the process may add: the real connector's tunnel, the taps'
     * pumps, the echo service (about 10 seen). A share that set up tunnels for the strangers would
     * add threads for their relay connections' taps.
     */
    static final int MAX_THREAD_GROWTH = 32;

    /**
     * Descriptors the process may add, less the strangers' control connections (theirs and the
     * server's side of each): the real connector's control connection, listener, tunnel sockets,
     * relay connections through the tap and the echo round trip (about 20). A tunnel socket and a
     * relay connection for each of the 30 held attempts would add over 150.
     */
    static final int MAX_DESCRIPTOR_GROWTH = 64;

    private static final String REAL_FROM = "127.0.0.1";

    @Test
    void walkAwaysFreeTheirSlotsAtOnceAndARealConnectorGetsThrough() throws Exception {
        try (Rig rig = new Rig()) {
            String number = rig.code.name();
            AtomicInteger accepted = new AtomicInteger(), busy = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(WALKERS);
            Resources resources = rig.resources(WALKERS);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WALK_MILLIS);
            List<Future<?>> walkers = new ArrayList<>();
            List<String> closers = new ArrayList<>(), enders = new ArrayList<>();
            try {
                for (int i = 0; i < WALKERS; i++) {
                    String from = "127.0.0." + (100 + i);
                    boolean sendEnd = i % 2 == 1;
                    (sendEnd ? enders : closers).add(from);
                    walkers.add(
                            pool.submit(
                                    () -> {
                                        walkAway(
                                                rig,
                                                RawControl.address(from),
                                                number,
                                                sendEnd,
                                                deadline,
                                                accepted,
                                                busy);
                                        return null;
                                    }));
                }
                // as soon as the walk-aways had enough sessions to fill every slot twice over,
                // if their slots were not freed: the real connector then asks (and asks again
                // 2 s and 4 s later) while, without END passed on, they would all be held
                assertTrue(
                        Services.eventually(5_000, () -> accepted.get() >= 2 * MAX_PROVING),
                        "the walk-aways had only " + accepted + " sessions");
                long throughMillis = rig.realConnectorThrough();
                boolean walking = System.nanoTime() < deadline;
                for (Future<?> w : walkers) w.get(WALK_MILLIS + 20_000, TimeUnit.MILLISECONDS);
                Thread.sleep(1_000); // the last ENDs reach the share
                resources.stop();

                List<Slot> slots = rig.wire.slots();
                List<Slot> strangers = strangers(slots);
                Map<Freed, Integer> how = count(strangers);
                System.out.printf(
                        "PakeSlotsTest walk-aways: %d sessions accepted, %d CONNECTs refused busy"
                                + " by the rendezvous; at the share %d attempts: %s; at most %d"
                                + " strangers' slots at once, %d for one address; the real"
                                + " connector through in %d ms; %s%n",
                        accepted.get(),
                        busy.get(),
                        strangers.size(),
                        how,
                        maxAtOnce(strangers, null),
                        maxPerAddress(strangers),
                        throughMillis,
                        resources);

                rig.assertShareKeptItsConnection();
                assertTrue(walking, "the walk-aways were over before the real connector was");
                // the attack ran: enough attempts to fill every slot many times over
                assertTrue(
                        accepted.get() > 4 * MAX_PROVING,
                        "only " + accepted + " sessions were accepted for the walk-aways");
                assertTrue(busy.get() > 0, "the walk-aways never met the rendezvous's budgets");
                // every walked-away attempt gave its slot back at once: the connector's END
                // (sent, or its leaving) passed on by the server, none at the share's deadline
                List<Slot> notFreedByEnd =
                        strangers.stream()
                                .filter(s -> s.freed != Freed.CONNECTOR_END)
                                .filter(s -> s.freed != Freed.REFUSED)
                                .toList();
                assertEquals(
                        List.of(),
                        notFreedByEnd,
                        "walked-away attempts that held their slot until the share dropped them");
                for (List<String> variant : List.of(closers, enders)) {
                    assertTrue(
                            strangers.stream()
                                    .anyMatch(
                                            s ->
                                                    variant.contains(s.from)
                                                            && s.freed == Freed.CONNECTOR_END),
                            "no attempt from " + variant + " was freed by its END");
                }
                rig.assertRealOneNeverRefused(slots);
                rig.assertNothingSpentOnStrangers(resources, WALKERS);
            } finally {
                resources.stop();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void silentHoldersHoldASlotForAtMostTheFirstStepDeadlineAndTwoPerAddress() throws Exception {
        try (Rig rig = new Rig()) {
            String number = rig.code.name();
            int holders = HOLDERS * MAX_PROVING_PER_ADDRESS;
            ExecutorService pool = Executors.newFixedThreadPool(holders);
            Resources resources = rig.resources(holders);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HOLD_MILLIS);
            List<Holder> all = new ArrayList<>();
            List<Future<?>> running = new ArrayList<>();
            try {
                for (int a = 0; a < HOLDERS; a++) {
                    InetAddress from = RawControl.address("127.0.0." + (150 + a));
                    for (int k = 0; k < MAX_PROVING_PER_ADDRESS; k++) {
                        Holder h = new Holder(rig, from, number, deadline);
                        all.add(h);
                        running.add(
                                pool.submit(
                                        () -> {
                                            h.run();
                                            return null;
                                        }));
                    }
                }
                // every holder has its slot: the share sent it PAKE step 1
                assertTrue(
                        Services.eventually(5_000, () -> all.stream().allMatch(h -> h.held.get())),
                        "the holders did not all get a slot");

                // a third CONNECT from each holding address is refused busy; each stays
                // connected while the real connector asks (had it a slot, it would hold it)
                Map<String, String> thirds = new TreeMap<>();
                List<RawControl> thirdConnections = new ArrayList<>();
                long throughMillis;
                try {
                    for (int a = 0; a < HOLDERS; a++) {
                        String from = "127.0.0." + (150 + a);
                        RawControl c = rig.open(RawControl.address(from));
                        thirdConnections.add(c);
                        thirds.put(from, third(c, number));
                    }
                    throughMillis = rig.realConnectorThrough();
                } finally {
                    thirdConnections.forEach(rig::close);
                }
                long refusedThirds = thirds.values().stream().filter(REFUSED_BUSY::equals).count();
                for (Future<?> r : running) r.get(HOLD_MILLIS + 20_000, TimeUnit.MILLISECONDS);
                Thread.sleep(1_000); // the last ENDs reach the share
                resources.stop();

                List<Slot> slots = rig.wire.slots();
                List<Slot> strangers = strangers(slots);
                Map<Freed, Integer> how = count(strangers);
                long longest =
                        strangers.stream()
                                .filter(s -> s.freed != Freed.REFUSED)
                                .mapToLong(Slot::heldMillis)
                                .max()
                                .orElse(0);
                int sessions = all.stream().mapToInt(h -> h.sessions.get()).sum();
                System.out.printf(
                        "PakeSlotsTest silent holders: %d sessions; at the share %d attempts: %s;"
                                + " the longest held %d ms; at most %d strangers' slots at once,"
                                + " %d for one address; third CONNECTs refused busy %d of %d; the"
                                + " real connector through in %d ms; %s%n",
                        sessions,
                        strangers.size(),
                        how,
                        longest,
                        maxAtOnce(strangers, null),
                        maxPerAddress(strangers),
                        refusedThirds,
                        HOLDERS,
                        throughMillis,
                        resources);

                rig.assertShareKeptItsConnection();
                assertEquals(HOLDERS, refusedThirds, "the third CONNECTs' answers: " + thirds);
                assertTrue(
                        maxPerAddress(strangers) <= MAX_PROVING_PER_ADDRESS,
                        "one address held " + maxPerAddress(strangers) + " slots at once");
                assertTrue(
                        maxAtOnce(strangers, null) <= holders,
                        "the strangers held " + maxAtOnce(strangers, null) + " slots at once");
                // each held attempt was dropped by the share at its first-step deadline (the
                // first wave all were), and none held its slot longer
                assertTrue(
                        how.getOrDefault(Freed.SHARE_DEADLINE, 0) >= holders,
                        "the share dropped " + how + " of the held attempts");
                assertTrue(
                        longest <= FIRST_STEP_TIMEOUT_MILLIS + HOLD_SLACK_MILLIS,
                        "a silent attempt held its slot for " + longest + " ms");
                rig.assertRealOneNeverRefused(slots);
                rig.assertNothingSpentOnStrangers(resources, holders);
            } finally {
                resources.stop();
                pool.shutdownNow();
            }
        }
    }

    // ---- the strangers ----

    /**
     * CONNECTs and leaves at once, without a PAKE, until the deadline: closes the connection, or
     * sends END and asks again on it. Refused by the rendezvous's budgets (ERROR busy, which closes
     * the connection), it waits a little and connects again.
     */
    private static void walkAway(
            Rig rig,
            InetAddress from,
            String number,
            boolean sendEnd,
            long deadline,
            AtomicInteger accepted,
            AtomicInteger busy)
            throws InterruptedException {
        RawControl c = null;
        while (System.nanoTime() < deadline) {
            try {
                if (c == null) c = rig.open(from);
                c.send(RendezvousMessage.of(CONNECT, "v", VERSION, "name", number));
                RendezvousMessage m;
                do m = c.receive(5_000); // skipping the share's PAKE for an earlier session
                while (m != null && !m.type().equals(ACCEPTED) && !m.type().equals(ERROR));
                if (m != null && m.type().equals(ACCEPTED)) {
                    accepted.incrementAndGet();
                    if (sendEnd) {
                        c.send(RendezvousMessage.of(END, "session", m.get("session")));
                        continue;
                    }
                } else {
                    if (m != null && E_BUSY.equals(m.get("code"))) busy.incrementAndGet();
                    Thread.sleep(200);
                }
            } catch (IOException closed) {
                Thread.sleep(100);
            }
            rig.close(c);
            c = null;
        }
        if (c != null) rig.close(c);
    }

    /**
     * A connector that CONNECTs and never sends its PAKE step 1, and CONNECTs again on the same
     * connection each time the share drops it, until the deadline.
     */
    private static final class Holder {
        final Rig rig;
        final InetAddress from;
        final String number;
        final long deadline;
        final AtomicBoolean held = new AtomicBoolean();
        final AtomicInteger sessions = new AtomicInteger();

        Holder(Rig rig, InetAddress from, String number, long deadline) {
            this.rig = rig;
            this.from = from;
            this.number = number;
            this.deadline = deadline;
        }

        void run() throws InterruptedException {
            RawControl c = null;
            String session = null;
            while (System.nanoTime() < deadline) {
                try {
                    if (c == null) c = rig.open(from);
                    if (session == null) {
                        c.send(RendezvousMessage.of(CONNECT, "v", VERSION, "name", number));
                        RendezvousMessage m;
                        do m = c.receive(5_000);
                        while (m != null && !m.type().equals(ACCEPTED) && !m.type().equals(ERROR));
                        if (m == null || !m.type().equals(ACCEPTED))
                            throw new IOException("not accepted: " + m);
                        session = m.get("session");
                        sessions.incrementAndGet();
                    }
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    RendezvousMessage m = c.receive(Math.max(1, Math.min(200, left)));
                    if (m == null || !session.equals(m.get("session"))) continue;
                    if (m.type().equals(PAKE) && m.get("refused") != null) {
                        Thread.sleep(500); // refused: its END follows; ask again a little later
                    } else if (m.type().equals(PAKE)) {
                        held.set(true); // the share's step 1: this attempt holds a slot
                    } else if (m.type().equals(END)) {
                        session = null; // dropped by the share: ask again at once
                    }
                } catch (IOException e) {
                    rig.close(c);
                    c = null;
                    session = null;
                    Thread.sleep(200);
                }
            }
            if (c != null) rig.close(c);
        }
    }

    /**
     * A third CONNECT from an address whose two holders hold their slots, on {@code c}: how the
     * share answers (its {@code refused=}, or "step 1" if it took the attempt, which then holds its
     * slot silently like the others).
     */
    private static String third(RawControl c, String number) throws Exception {
        c.send(RendezvousMessage.of(CONNECT, "v", VERSION, "name", number));
        RendezvousMessage m = c.receive(5_000);
        if (m == null || !m.type().equals(ACCEPTED)) return "not accepted: " + m;
        String session = m.get("session");
        while ((m = c.receive(5_000)) != null) {
            if (!m.type().equals(PAKE) || !session.equals(m.get("session"))) continue;
            return m.get("refused") != null ? m.get("refused") : "step " + m.get("step");
        }
        return "no answer from the share";
    }

    // ---- the deployment ----

    /**
     * The rendezvous with production budgets, the relay behind a counting tap, a share of a
     * counting echo through the recording proxy, its tunnel sockets noted.
     */
    private static final class Rig implements AutoCloseable {
        final TcpTap relayTap = new TcpTap();
        final TrustLab lab;
        final CountingEcho echo = new CountingEcho();
        final ShareWire wire = new ShareWire();
        final ControlProxy proxy;
        final List<InetSocketAddress> shareSockets = new CopyOnWriteArrayList<>();
        final List<InetSocketAddress> connectorSockets = new CopyOnWriteArrayList<>();
        final ShareCode code;
        final AtomicInteger strangerSockets = new AtomicInteger();

        /** Connectors with the right code so far. */
        int honest;

        Rig() throws Exception {
            lab =
                    new TrustLab(
                            "127.0.0.1:" + relayTap.address().getPort(),
                            5_000,
                            ClientLimits.defaults());
            relayTap.target = lab.relayAddress();
            proxy = new ControlProxy(lab.server(), null, wire);
            Sharer share =
                    lab.sharer(
                            proxy.address(),
                            echo.port(),
                            null,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, () -> new SocketTap(shareSockets)),
                            new Lines());
            code = ShareCode.parse(share.start().get(20, TimeUnit.SECONDS));
            // A connector before the strangers come: it also loads and warms this JVM's tunnel
            // code, so that the bound on the real connector measures the attack, not that.
            Connector first = connector();
            first.start().get(20, TimeUnit.SECONDS);
            byte[] data = Services.random(64 << 10);
            assertArrayEquals(data, Services.roundTrip(first.localAddress(), data));
            first.close();
        }

        /** A connector with the right code, from 127.0.0.1, its tunnel socket noted. */
        Connector connector() {
            honest++;
            return lab.connector(
                    lab.server(),
                    code.toString(),
                    TrustLab.paths(Transport.RELAY, () -> new SocketTap(connectorSockets)),
                    new Lines());
        }

        RawControl open(InetAddress from) throws IOException {
            RawControl c = new RawControl(lab.server(), from);
            strangerSockets.incrementAndGet();
            return c;
        }

        void close(RawControl c) {
            if (c == null) return;
            c.close();
            strangerSockets.decrementAndGet();
        }

        Resources resources(int strangerThreads) {
            return new Resources(strangerSockets, strangerThreads);
        }

        /**
         * A real connector with the right code, from 127.0.0.1: its tunnel up and an echo round
         * trip within {@link #THROUGH_MILLIS}; how long that took.
         */
        long realConnectorThrough() throws Exception {
            long t0 = System.nanoTime();
            Connector real = connector();
            try {
                real.start().get(THROUGH_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                fail(
                        "the real connector had no tunnel "
                                + THROUGH_MILLIS
                                + " ms after it started; the share refused it busy "
                                + refusedReal(wire.slots())
                                + " times");
            }
            byte[] data = Services.random(64 << 10);
            assertArrayEquals(data, Services.roundTrip(real.localAddress(), data));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(
                    millis <= THROUGH_MILLIS,
                    "the real connector's echo round trip came " + millis + " ms after it started");
            real.close();
            return millis;
        }

        static long refusedReal(List<Slot> slots) {
            return slots.stream()
                    .filter(s -> s.from.equals(REAL_FROM) && s.freed == Freed.REFUSED)
                    .count();
        }

        /** The real connectors were never refused, and each proved the code once. */
        void assertRealOneNeverRefused(List<Slot> slots) {
            assertEquals(0, refusedReal(slots), "the share refused the real connector busy");
            assertEquals(
                    honest,
                    slots.stream()
                            .filter(s -> s.from.equals(REAL_FROM) && s.freed == Freed.PROVEN)
                            .count(),
                    "the real connectors' PAKEs at the share");
        }

        /**
         * The strangers did not knock the share off the rendezvous: it kept its one control
         * connection (else the attempts in flight then were never freed, nor timed out).
         */
        void assertShareKeptItsConnection() {
            assertEquals(1, proxy.links.size(), "the share's control connections");
        }

        /**
         * (c) The share opened a tunnel socket for the real connectors only, and only the real
         * tunnels' ends dialled the relay; threads and descriptors stayed within bounds.
         */
        void assertNothingSpentOnStrangers(Resources r, int strangerThreads) {
            int relayConnections = relayTap.streams.size() / 2;
            System.out.printf(
                    "PakeSlotsTest: the share opened %d tunnel sockets, the real connectors %d;"
                            + " %d connections to the relay%n",
                    shareSockets.size(), connectorSockets.size(), relayConnections);
            assertEquals(honest, connectorSockets.size(), "the real connectors' tunnel sockets");
            assertEquals(
                    connectorSockets.size(),
                    shareSockets.size(),
                    "the share's tunnel sockets, for "
                            + honest
                            + " real connectors and the"
                            + " strangers");
            assertTrue(
                    relayConnections <= 2 * connectorSockets.size(),
                    relayConnections + " connections to the relay for " + honest + " tunnels");
            assertTrue(
                    r.peakThreads - r.threadsBefore <= strangerThreads + MAX_THREAD_GROWTH,
                    "threads " + r.threadsBefore + " -> " + r.peakThreads);
            assertTrue(
                    r.peakFds - r.fdsBefore <= MAX_DESCRIPTOR_GROWTH,
                    "descriptors " + r.fdsBefore + " -> " + r.peakFds);
        }

        @Override
        public void close() throws Exception {
            try (relayTap;
                    echo;
                    proxy) {
                lab.close();
            }
        }
    }

    /** In front of a tunnel socket: notes where it is bound. */
    private static final class SocketTap extends ChannelInboundHandlerAdapter {
        private final List<InetSocketAddress> bound;

        SocketTap(List<InetSocketAddress> bound) {
            this.bound = bound;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            bound.add((InetSocketAddress) ctx.channel().localAddress());
            ctx.fireChannelActive();
        }
    }

    /**
     * Samples the process's threads and descriptors; descriptors less the strangers' control
     * connections, both ends (the stranger's socket and the server's).
     */
    private static final class Resources implements Runnable {
        final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        final AtomicInteger strangerSockets;
        final int strangerThreads;
        final int threadsBefore;
        final long fdsBefore;
        volatile boolean running = true;
        volatile long peakFds;
        volatile int peakThreads;
        private final Thread sampler;

        Resources(AtomicInteger strangerSockets, int strangerThreads) {
            this.strangerSockets = strangerSockets;
            this.strangerThreads = strangerThreads;
            threadsBefore = threads.getThreadCount();
            fdsBefore = descriptors();
            peakFds = fdsBefore;
            threads.resetPeakThreadCount();
            sampler = new Thread(this, "slots-monitor");
            sampler.setDaemon(true);
            sampler.start();
        }

        @Override
        public void run() {
            while (running) {
                peakFds = Math.max(peakFds, descriptors() - 2L * strangerSockets.get());
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() throws InterruptedException {
            if (!running) return;
            running = false;
            sampler.join(5_000);
            peakThreads = threads.getPeakThreadCount();
        }

        static long descriptors() {
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                return fds.count();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public String toString() {
            return "threads "
                    + threadsBefore
                    + " -> peak "
                    + peakThreads
                    + " ("
                    + strangerThreads
                    + " the strangers'), descriptors "
                    + fdsBefore
                    + " -> peak "
                    + peakFds
                    + " (the strangers' connections excluded)";
        }
    }

    // ---- what the share's control connection carried ----

    /** How an attempt gave its PAKE slot back at the share. */
    enum Freed {
        /** The share refused it (it never held a slot). */
        REFUSED,
        /** The server passed on the connector's END (sent, or its leaving). */
        CONNECTOR_END,
        /** The share ended it itself: its deadline (or a failed PAKE). */
        SHARE_DEADLINE,
        /** The connector's key confirmation reached the share. */
        PROVEN,
        /** Not yet. */
        HELD
    }

    /** One attempt at the share: from its INCOMING to the message that freed its slot. */
    record Slot(String session, String from, long start, long end, Freed freed) {
        long heldMillis() {
            return TimeUnit.NANOSECONDS.toMillis(end - start);
        }

        @Override
        public String toString() {
            return session + " from " + from + " " + freed + " after " + heldMillis() + " ms";
        }
    }

    /** Notes every message on the share's control connection, with when the proxy carried it. */
    private static final class ShareWire implements ControlProxy.Rules {
        record Event(long nanos, boolean fromShare, RendezvousMessage m) {}

        final List<Event> events = new CopyOnWriteArrayList<>();

        @Override
        public List<RendezvousMessage> up(ControlProxy.Link link, RendezvousMessage m) {
            events.add(new Event(System.nanoTime(), true, m));
            return List.of(m);
        }

        @Override
        public List<RendezvousMessage> down(ControlProxy.Link link, RendezvousMessage m) {
            events.add(new Event(System.nanoTime(), false, m));
            return List.of(m);
        }

        /** Every attempt the share was told of, in order, with how its slot was freed. */
        List<Slot> slots() {
            Map<String, Slot> by = new LinkedHashMap<>();
            long now = System.nanoTime();
            for (Event e : events) {
                String id = e.m.get("session");
                if (id == null) continue;
                String type = e.m.type();
                if (!e.fromShare && type.equals(INCOMING)) {
                    by.put(id, new Slot(id, e.m.get("from"), e.nanos, now, Freed.HELD));
                    continue;
                }
                Slot s = by.get(id);
                if (s == null || s.freed != Freed.HELD) continue;
                Freed f = null;
                if (e.fromShare && type.equals(PAKE) && e.m.get("refused") != null)
                    f = Freed.REFUSED;
                else if (e.fromShare && type.equals(END)) f = Freed.SHARE_DEADLINE;
                else if (!e.fromShare && type.equals(END)) f = Freed.CONNECTOR_END;
                else if (!e.fromShare && type.equals(PAKE) && "3".equals(e.m.get("step")))
                    f = Freed.PROVEN;
                if (f != null) by.put(id, new Slot(id, s.from, s.start, e.nanos, f));
            }
            return new ArrayList<>(by.values());
        }
    }

    static List<Slot> strangers(List<Slot> slots) {
        return slots.stream().filter(s -> !s.from.equals(REAL_FROM)).toList();
    }

    static Map<Freed, Integer> count(List<Slot> slots) {
        Map<Freed, Integer> n = new TreeMap<>();
        for (Slot s : slots) n.merge(s.freed, 1, Integer::sum);
        return n;
    }

    /**
     * The most slots held at once by these attempts (from {@code from} only, unless null), as the
     * proxy saw them: an attempt the share dropped at its deadline may seem to overlap by a moment
     * one from another connection that the share was told of after it.
     */
    static int maxAtOnce(List<Slot> slots, String from) {
        TreeMap<Long, Integer> delta = new TreeMap<>();
        for (Slot s : slots) {
            if (s.freed == Freed.REFUSED || (from != null && !from.equals(s.from))) continue;
            delta.merge(s.start, 1, Integer::sum);
            delta.merge(s.end, -1, Integer::sum);
        }
        int now = 0, max = 0;
        for (int d : delta.values()) max = Math.max(max, now += d);
        return max;
    }

    static int maxPerAddress(List<Slot> slots) {
        Set<String> addresses = new HashSet<>();
        for (Slot s : slots) addresses.add(s.from);
        int max = 0;
        for (String a : addresses) max = Math.max(max, maxAtOnce(slots, a));
        return max;
    }
}
