package dev.appshare.relay;

import static dev.appshare.relay.RelayServerTest.readLine;
import static dev.appshare.relay.RelayServerTest.sha;
import static dev.appshare.relay.RelayServerTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's connection budgets on loopback, with distinct 127.0.0.x source addresses standing for
 * distinct clients: one address is cut at its budget while another still pairs and splices
 * byte-exact, the global cap holds across addresses, and refusals are logged rate-limited.
 */
class RelayBudgetTest {
    static final int PER_ADDRESS = 8;
    static final int GLOBAL = 12;

    EventLoopGroup group;
    RelayToken tokens;
    RelayServer relay;
    final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        // A pairing timeout longer than the test: the idle connections stay until it closes them.
        relay =
                new RelayServer(tokens, 60_000, new ConnectionBudget(PER_ADDRESS, GLOBAL))
                        .start(group, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) s.close();
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** A connection to the relay from {@code source} (a 127.0.0.x address). */
    Socket open(String source) throws Exception {
        Socket s = new Socket();
        sockets.add(s);
        s.bind(new InetSocketAddress(source, 0));
        s.connect(relay.localAddress(), 5_000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** {@code n} connections from {@code source} that say nothing, once the relay counts them. */
    List<Socket> openIdle(String source, int n) throws Exception {
        int before = relay.connections().open();
        List<Socket> idle = new ArrayList<>();
        for (int i = 0; i < n; i++) idle.add(open(source));
        awaitCount(() -> relay.connections().open(), before + n);
        return idle;
    }

    void assertRefused(String source, int times) throws Exception {
        for (int i = 0; i < times; i++) {
            Socket s = open(source);
            assertEquals("ERR busy", readLine(s), "connection " + i + " from " + source);
            assertEquals(-1, s.getInputStream().read(), "closed after ERR busy");
            s.close();
        }
    }

    static void awaitCount(IntSupplier count, int expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (count.getAsInt() != expected && System.nanoTime() < deadline) Thread.sleep(5);
        assertEquals(expected, count.getAsInt());
    }

    @Test
    void oneAddressIsCutAtItsBudgetWhileAnotherStillPairsAndSplicesByteExact() throws Exception {
        long started = System.nanoTime();
        List<Socket> idle = openIdle("127.0.0.2", PER_ADDRESS);
        assertRefused("127.0.0.2", 50);
        assertEquals(PER_ADDRESS, relay.connections().open(), "refused ones are not counted");

        String token = tokens.mint(30_000);
        Socket a = open("127.0.0.3");
        Socket b = open("127.0.0.3");
        for (Socket s : List.of(a, b)) {
            s.getOutputStream()
                    .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals("OK", readLine(a));
        assertEquals("OK", readLine(b));
        byte[] ab = new byte[1 << 20];
        byte[] ba = new byte[1 << 20];
        new Random(1).nextBytes(ab);
        new Random(2).nextBytes(ba);
        CompletableFuture<byte[]> atB = CompletableFuture.supplyAsync(() -> sha(b, ab.length));
        CompletableFuture<byte[]> atA = CompletableFuture.supplyAsync(() -> sha(a, ba.length));
        CompletableFuture.runAsync(() -> write(a, ab));
        CompletableFuture.runAsync(() -> write(b, ba));
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        assertArrayEquals(sha256.digest(ab), atB.get(30, TimeUnit.SECONDS));
        assertArrayEquals(sha256.digest(ba), atA.get(30, TimeUnit.SECONDS));

        // A closed connection gives its unit back: the first address may open one more.
        idle.get(0).close();
        awaitCount(() -> relay.connections().open(), PER_ADDRESS + 1);
        openIdle("127.0.0.2", 1);
        assertRefused("127.0.0.2", 1);

        // 51 refusals, one log line (plus one per 10 s the test took, under a loaded machine).
        long bound = 1 + (System.nanoTime() - started) / RejectionLog.INTERVAL_NANOS;
        assertTrue(
                relay.rejections().lines() <= bound,
                relay.rejections().lines() + " log lines, at most " + bound);
    }

    @Test
    void theGlobalCapHoldsAcrossAddresses() throws Exception {
        openIdle("127.0.0.2", PER_ADDRESS);
        openIdle("127.0.0.3", GLOBAL - PER_ADDRESS);
        assertRefused("127.0.0.4", 5);
        assertRefused("127.0.0.3", 5);
        assertEquals(GLOBAL, relay.connections().open());
        assertEquals(2, relay.connections().addresses());
    }
}
