package dev.appshare.relay;

import static dev.appshare.relay.RelayServerTest.readLine;
import static dev.appshare.relay.RelayServerTest.sha;
import static dev.appshare.relay.RelayServerTest.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.ServerStats;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's budget for queued bytes on loopback, attacked the way a holder of relay tokens would:
 * pairs whose reader never reads, each making the relay hold a direction's worth, until together
 * they pass the budget. The relay resets the longest stalls, oldest first, and only those, until it
 * holds less than its budget again, while a pair that reads moves 8 MiB byte-exact throughout.
 */
class RelayMemoryTest {
    static final long BUDGET = 1 << 20;
    static final long MIN_STALL_MILLIS = 1_000;
    static final int MAX_STALLED = 40;

    EventLoopGroup group;
    RelayToken tokens;
    RelayServer relay;
    final ServerStats stats = new ServerStats();
    final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        relay =
                new RelayServer(tokens, 10_000)
                        .withStats(stats)
                        .withHeldBytesBudget(
                                BUDGET, TimeUnit.MILLISECONDS.toNanos(MIN_STALL_MILLIS))
                        .start(group, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) s.close();
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** A paired connection; {@code receiveBuffer} > 0 sets a small socket buffer first. */
    Socket dial(String token, int receiveBuffer) throws Exception {
        Socket s = new Socket();
        sockets.add(s);
        if (receiveBuffer > 0) s.setReceiveBufferSize(receiveBuffer);
        s.connect(relay.localAddress(), 5_000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    /** A pair whose writer sends until it is stopped and whose reader never reads. */
    record Stalled(Socket writer, Socket reader, CompletableFuture<Void> writing) {
        boolean reset() {
            return writing.isDone();
        }
    }

    Stalled stall() throws Exception {
        String token = tokens.mint(30_000);
        Socket writer = dial(token, 0);
        Socket reader = dial(token, 4096);
        assertEquals("OK", readLine(writer));
        assertEquals("OK", readLine(reader));
        CompletableFuture<Void> writing =
                CompletableFuture.runAsync(
                        () -> {
                            byte[] chunk = new byte[64 << 10];
                            try {
                                for (int i = 0; i < 4096; i++)
                                    writer.getOutputStream().write(chunk);
                            } catch (Exception e) {
                                // reset by the relay: the end we wait for
                            }
                        });
        return new Stalled(writer, reader, writing);
    }

    @Test
    void theLongestStallsAreResetUntilTheRelayHoldsLessThanItsBudget() throws Exception {
        List<Stalled> stalled = new ArrayList<>();
        // Stall pairs one by one, each once the relay holds its high-water mark's worth for it
        // (the kernel's buffers fill first), until together they pass the budget.
        while (relay.heldBytes().held() <= BUDGET && stalled.size() < MAX_STALLED) {
            long before = relay.heldBytes().held();
            stalled.add(stall());
            awaitHeld(before + (64 << 10), 10_000);
            Thread.sleep(50); // distinct stall ages
        }
        assertTrue(relay.heldBytes().held() > BUDGET, "the attack never passed the budget");
        assertEquals(0, relay.heldBytes().evicted(), "reset before any stall was old enough");

        // A pair that reads, moving bytes while the relay is over its budget and resets others.
        String token = tokens.mint(30_000);
        Socket a = dial(token, 0);
        Socket b = dial(token, 0);
        assertEquals("OK", readLine(a));
        assertEquals("OK", readLine(b));
        byte[] data = new byte[8 << 20];
        new Random(7).nextBytes(data);
        CompletableFuture<byte[]> atB = CompletableFuture.supplyAsync(() -> sha(b, data.length));
        CompletableFuture.runAsync(
                () -> {
                    for (int off = 0; off < data.length; off += 1 << 20) {
                        write(a, java.util.Arrays.copyOfRange(data, off, off + (1 << 20)));
                        sleepQuietly(200); // spans the stalls' minimum age
                    }
                });

        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (relay.heldBytes().held() > BUDGET && System.nanoTime() < end) Thread.sleep(20);
        assertTrue(
                relay.heldBytes().held() <= BUDGET,
                "still holding " + relay.heldBytes().held() + " bytes");
        assertArrayEquals(
                MessageDigest.getInstance("SHA-256").digest(data), atB.get(30, TimeUnit.SECONDS));

        // The reset pairs are the oldest: a prefix of the order they stalled in, and not all.
        Thread.sleep(200);
        int reset = 0;
        while (reset < stalled.size() && stalled.get(reset).reset()) reset++;
        for (int i = reset; i < stalled.size(); i++)
            assertFalse(stalled.get(i).reset(), "pair " + i + " reset out of order");
        assertTrue(reset > 0, "no pair reset");
        assertTrue(reset < stalled.size(), "every pair reset: more than needed");
        assertEquals(reset, relay.heldBytes().evicted());
        assertEquals(
                reset,
                stats.refusals().get(new ServerStats.Refusal("relay", "memory")).sum(),
                "each reset counts in appshare_rejections{reason=\"memory\"}");
        assertTrue(stats.relayHeldBytes.sum() <= BUDGET, "the gauge reads the held bytes");
    }

    void awaitHeld(long atLeast, long millis) throws Exception {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (relay.heldBytes().held() < atLeast && System.nanoTime() < end) Thread.sleep(5);
        assertTrue(
                relay.heldBytes().held() >= atLeast,
                "the relay holds " + relay.heldBytes().held() + " < " + atLeast);
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
