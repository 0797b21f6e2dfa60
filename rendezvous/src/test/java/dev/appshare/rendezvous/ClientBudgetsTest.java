package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rendezvous under a flood from one source address: the flooder is held to its budgets while
 * clients on other addresses are served. Real TCP clients on loopback, each bound to its own
 * 127.0.0.x to model distinct hosts; the budgets' clock is the test's, so counts are exact.
 */
class ClientBudgetsTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /** Thousands of idle connections, bounded in count and time. */
    private static final int FLOOD = 2_000;

    private static final long FLOOD_NANOS = TimeUnit.SECONDS.toNanos(20);

    private static EventLoopGroup group;
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private RendezvousServer server;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(2);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private void start(ClientLimits limits) throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.handshakeTimeoutMillis = 60_000; // idle connections outlive a slow test run
        cfg.limits = limits;
        cfg.nanoTime = now::get;
        server = ControlClient.startServer(cfg, group);
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    @Test
    void thousandsOfIdleConnectionsFromOneAddressAreCutAtItsBudgetWhileOthersAreServed()
            throws Exception {
        start(ClientLimits.defaults());
        int budget = ClientLimits.CONNECTIONS_PER_ADDRESS;
        List<ControlClient> flood = new ArrayList<>();
        try {
            long start = System.nanoTime();
            while (flood.size() < FLOOD && System.nanoTime() - start < FLOOD_NANOS) {
                flood.add(new ControlClient("127.0.0.2", port()));
            }
            assertTrue(flood.size() > 2 * budget, "opened only " + flood.size());
            long accepted = flood.size();
            await(() -> server.testOnlyAcceptedConnections() >= accepted, "all accepted");
            assertEquals(budget, server.testOnlyOpenConnections(), "held for the flooder");
            assertTrue(answersPing(flood), "the ones within the budget are served");
            assertTrue(flood.get(flood.size() - 1).closedWithin(5_000), "one past it is cut");

            try (ControlClient share = new ControlClient("127.0.0.3", port());
                    ControlClient connector = new ControlClient("127.0.0.4", port())) {
                String registered = share.register(ControlClient.newKey(), null);
                assertTrue(registered.startsWith("REGISTERED name="), registered);
                connector.send(ControlClient.connectLine(field(registered, "name")));
                String accepted2 = connector.read();
                assertTrue(accepted2.startsWith("ACCEPTED "), accepted2);
            }
        } finally {
            for (ControlClient c : flood) c.close();
        }
        await(() -> server.testOnlyOpenConnections() == 0, "every connection given back");
    }

    @Test
    void theGlobalCapClosesNewConnectionsWhateverTheirAddress() throws Exception {
        start(new ClientLimits(50, 40, 10, 20, 2, 10, 32));
        List<ControlClient> held = new ArrayList<>();
        try {
            for (int i = 0; i < 40; i++) held.add(new ControlClient("127.0.0.2", port()));
            await(() -> server.testOnlyOpenConnections() == 40, "the first 40 admitted");
            for (int i = 0; i < 40; i++) held.add(new ControlClient("127.0.0.5", port()));
            await(() -> server.testOnlyAcceptedConnections() >= 80, "all accepted");
            assertEquals(50, server.testOnlyOpenConnections());
            try (ControlClient late = new ControlClient("127.0.0.6", port())) {
                assertTrue(late.closedWithin(5_000), "over the global cap: closed at once");
            }
            for (int i = 0; i < 40; i++) held.get(i).close();
            await(() -> server.testOnlyOpenConnections() <= 10, "given back");
            try (ControlClient late = new ControlClient("127.0.0.6", port())) {
                late.send("PING");
                assertEquals("PONG", late.read(), "room again once others left");
            }
        } finally {
            for (ControlClient c : held) c.close();
        }
    }

    @Test
    void aGuessingLoopFromOneAddressIsHeldToTheLookupRate() throws Exception {
        start(ClientLimits.defaults());
        // One guess per fresh connection, as a guesser dodging the per-connection limit would.
        assertEquals(ClientLimits.LOOKUP_BURST, unknownNameAnswers("127.0.0.5", 200));
        now.addAndGet(SECOND);
        assertEquals(ClientLimits.LOOKUPS_PER_SECOND, unknownNameAnswers("127.0.0.5", 50));
        assertEquals(1, unknownNameAnswers("127.0.0.6", 1), "another address is not held");
    }

    @Test
    void relayTokensAreMintedWithinTheBudgetPerAddress() throws Exception {
        start(ClientLimits.defaults());
        try (ControlClient share = new ControlClient("127.0.0.7", port())) {
            assertEquals(
                    "REGISTERED name=tokens", share.register(ControlClient.newKey(), "tokens"));

            assertEquals(ClientLimits.TOKEN_BURST, acceptedAnswers("127.0.0.8", 30));
            now.addAndGet(SECOND);
            assertEquals(ClientLimits.TOKENS_PER_SECOND, acceptedAnswers("127.0.0.8", 10));
            assertEquals(1, acceptedAnswers("127.0.0.9", 1), "another address gets its token");

            // Every token minted reached the share as an INCOMING: the .8 ones, then the .9 one
            // (each connector closed after its ACCEPTED, so each INCOMING may be followed by the
            // END the server sends for a connector that left).
            int incoming = 0;
            for (String m = share.read(); ; m = share.read()) {
                if (m.startsWith("END ")) continue;
                assertTrue(m.startsWith("INCOMING "), m);
                incoming++;
                if (incoming > ClientLimits.TOKEN_BURST + ClientLimits.TOKENS_PER_SECOND) break;
            }
            share.send("PING"); // what came before its PONG is all the server had sent
            for (String m = share.read(); !m.equals("PONG"); m = share.read())
                assertTrue(m.startsWith("END "), "and no more INCOMING: " + m);
        }
    }

    @Test
    void liveSharesPerAddressAreBounded() throws Exception {
        start(ClientLimits.defaults());
        List<ControlClient> shares = new ArrayList<>();
        List<KeyPair> keys = new ArrayList<>();
        try {
            List<String> challenges = new ArrayList<>();
            for (int i = 0; i <= ClientLimits.SHARES_PER_ADDRESS; i++) {
                now.addAndGet(SECOND); // a look-up per REGISTER, within the rate
                ControlClient c = new ControlClient("127.0.0.10", port());
                shares.add(c);
                keys.add(ControlClient.newKey());
                challenges.add(c.sendRegister(keys.get(i), null));
            }
            int registered = 0, busy = 0;
            for (int i = 0; i < shares.size(); i++) {
                String m = shares.get(i).prove(keys.get(i), challenges.get(i));
                if (m.startsWith("REGISTERED ")) registered++;
                else if (m.startsWith("ERROR code=busy ")) busy++;
            }
            assertEquals(ClientLimits.SHARES_PER_ADDRESS, registered);
            assertEquals(1, busy);
        } finally {
            for (ControlClient c : shares) c.close();
        }
    }

    /**
     * One IPv6 /48 holds 65,536 /64s, each with its own share budget, and a reservation outlives
     * its connection by 5 min: without a budget per /48, one site registering and leaving from each
     * /64 filled the table of addresses (then no new address could register, and reservations ran
     * out). No sockets: the budgets are asked directly, as the registry does.
     */
    @Test
    void sharesFromOneIpv6SiteAreBoundedWhateverTheirSlash64s() throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        ClientBudgets budgets = new ClientBudgets(cfg);
        int taken = 0;
        for (int i = 0; i < 2 * ClientLimits.SHARES_PER_V6_SITE; i++) {
            if (budgets.share(
                    InetAddress.getByName("2001:db8:7:" + Integer.toHexString(i) + "::1"))) taken++;
        }
        assertEquals(ClientLimits.SHARES_PER_V6_SITE, taken);
        assertTrue(budgets.share(InetAddress.getByName("2001:db8:8::1")), "another site");
        budgets.shareLeft(InetAddress.getByName("2001:db8:7:0::1"));
        assertTrue(budgets.share(InetAddress.getByName("2001:db8:7:ffff::1")), "one slot back");
        assertFalse(budgets.share(InetAddress.getByName("2001:db8:7:fffe::1")));
        // IPv4 addresses are not sites: each keeps its own budget.
        for (int i = 0; i < ClientLimits.SHARES_PER_ADDRESS; i++)
            assertTrue(budgets.share(InetAddress.getByName("192.0.2.1")));
        assertFalse(budgets.share(InetAddress.getByName("192.0.2.1")));
        assertTrue(budgets.share(InetAddress.getByName("192.0.2.2")));
    }

    @Test
    void registeringAndLeavingInALoopIsHeldToTheLookupRate() throws Exception {
        start(ClientLimits.defaults());
        KeyPair key = ControlClient.newKey();
        // One key, one name, over and over from one address: its reservation keeps one live-share
        // slot, so only the look-up budget holds it.
        int registered = 0, busy = 0;
        for (int i = 0; i < ClientLimits.LOOKUP_BURST + 10; i++) {
            try (ControlClient c = new ControlClient("127.0.0.12", port())) {
                String answer = c.register(key, "loop-app");
                if (answer.equals("REGISTERED name=loop-app")) registered++;
                else if (answer.startsWith("ERROR code=busy ")) busy++;
                else throw new AssertionError(answer);
            }
        }
        assertEquals(ClientLimits.LOOKUP_BURST, registered);
        assertEquals(10, busy);
        now.addAndGet(SECOND);
        try (ControlClient c = new ControlClient("127.0.0.12", port())) {
            assertEquals("REGISTERED name=loop-app", c.register(key, "loop-app"), "refilled");
        }
    }

    /**
     * True if one of the first connections (those the server most likely kept: the accepts run on
     * two loops, so not necessarily the very first) answers a PING.
     */
    private static boolean answersPing(List<ControlClient> clients) {
        for (ControlClient c : clients.subList(0, Math.min(clients.size(), 256))) {
            try {
                c.send("PING");
                if (c.read().equals("PONG")) return true;
            } catch (IOException closedByTheServer) {
                // refused: try the next
            }
        }
        return false;
    }

    /** CONNECTs for names nobody holds, each on a fresh connection; counts unknown-name answers. */
    private int unknownNameAnswers(String from, int guesses) throws IOException {
        int unknown = 0;
        for (int i = 0; i < guesses; i++) {
            try (ControlClient c = new ControlClient(from, port())) {
                c.send(ControlClient.connectLine("guess-" + i));
                String answer = c.read();
                if (answer.startsWith("ERROR code=unknown-name ")) unknown++;
                else assertTrue(answer.startsWith("ERROR code=busy "), answer);
            }
        }
        return unknown;
    }

    /** CONNECTs for the share "tokens", each on a fresh connection; counts ACCEPTED answers. */
    private int acceptedAnswers(String from, int tries) throws IOException {
        int accepted = 0;
        for (int i = 0; i < tries; i++) {
            try (ControlClient c = new ControlClient(from, port())) {
                c.send(ControlClient.connectLine("tokens"));
                String answer = c.read();
                if (answer.startsWith("ACCEPTED ")) accepted++;
                else assertTrue(answer.startsWith("ERROR code=busy "), answer);
            }
        }
        return accepted;
    }

    private int port() {
        return server.localAddress().getPort();
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(10);
        }
    }

    private static String field(String message, String key) {
        for (String part : message.split(" ")) {
            if (part.startsWith(key + "=")) return part.substring(key.length() + 1);
        }
        throw new AssertionError("no " + key + " in " + message);
    }
}
