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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's limits on queued bytes on loopback, attacked the way a holder of relay tokens would:
 * pairs whose reader never reads, each making the relay hold a direction's worth. Past the budget
 * the relay resets the longest stalls, oldest first, once old enough, and only as many as it needs,
 * sparing an older pair whose reader takes its bytes slowly; past the ceiling, the largest at once,
 * whatever their age. A pair that reads moves 8 MiB byte-exact throughout.
 */
class RelayMemoryTest {
    static final int MAX_STALLED = 40;

    EventLoopGroup group;
    RelayToken tokens;
    RelayServer relay;
    final ServerStats stats = new ServerStats();
    final List<Socket> sockets = new ArrayList<>();

    void start(long budget, long ceiling, long minStallMillis) throws Exception {
        group = EventLoops.newGroup(2);
        tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        relay =
                new RelayServer(tokens, 10_000)
                        .withStats(stats)
                        .withHeldBytesBudget(
                                budget, ceiling, TimeUnit.MILLISECONDS.toNanos(minStallMillis))
                        .start(group, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) s.close();
        if (relay != null) relay.close();
        if (group != null)
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

    /** A pair whose writer sends until it is reset and whose reader never reads. */
    record Stalled(Socket writer, Socket reader, CompletableFuture<Void> writing) {
        boolean reset() {
            return writing.isDone();
        }
    }

    Stalled stall() throws Exception {
        return stall(4096);
    }

    /** {@code readerBuffer}: the reader's socket receive buffer, 0 for the system's. */
    Stalled stall(int readerBuffer) throws Exception {
        String token = tokens.mint(30_000);
        Socket writer = dial(token, 0);
        Socket reader = dial(token, readerBuffer);
        assertEquals("OK", readLine(writer));
        assertEquals("OK", readLine(reader));
        CompletableFuture<Void> writing = new CompletableFuture<>();
        // A thread of its own: it blocks for as long as the pair lives.
        Thread t =
                new Thread(
                        () -> {
                            byte[] chunk = new byte[64 << 10];
                            try {
                                for (int i = 0; i < 4096; i++)
                                    writer.getOutputStream().write(chunk);
                            } catch (Exception e) {
                                // reset by the relay (or closed by the test): the end we wait for
                            }
                            writing.complete(null);
                        },
                        "stalled-writer");
        t.setDaemon(true);
        t.start();
        return new Stalled(writer, reader, writing);
    }

    /**
     * A pair whose reader takes up to 64 KiB every 10 ms of a writer's flood (a few MB/s). The
     * relay sees a reader's progress at the kernel's grain: its socket wakes it once about half of
     * the send buffer (autotuned up to megabytes) is free, which this reader frees well within the
     * test's 3 s minimum stall; a reader many times slower would still age in it (and one about ten
     * times slower in the relay's real 10 s).
     */
    Stalled slowReader() throws Exception {
        Stalled s = stall(0);
        Thread r =
                new Thread(
                        () -> {
                            byte[] buf = new byte[64 << 10];
                            try {
                                while (true) {
                                    int n = s.reader().getInputStream().read(buf);
                                    if (n < 0) return;
                                    Thread.sleep(10);
                                }
                            } catch (Exception e) {
                                // closed: the test is over, or the pair was reset
                            }
                        },
                        "slow-reader");
        r.setDaemon(true);
        r.start();
        return s;
    }

    /**
     * Stalls pairs one by one, each once the relay holds a mark's worth more, while {@code more}.
     */
    List<Stalled> stallWhile(java.util.function.BooleanSupplier more) throws Exception {
        List<Stalled> stalled = new ArrayList<>();
        while (more.getAsBoolean() && stalled.size() < MAX_STALLED) {
            long before = relay.heldBytes().held();
            long resetBefore = relay.heldBytes().evicted();
            stalled.add(stall());
            // The relay holds a mark's worth more for it, or it reset pairs to free memory.
            await(
                    () ->
                            relay.heldBytes().held() >= before + (64 << 10)
                                    || relay.heldBytes().evicted() > resetBefore,
                    "the relay holds " + before + " and more for a new stall");
            Thread.sleep(50); // distinct stall ages
        }
        return stalled;
    }

    /** A pair that reads: 8 MiB in 1 MiB steps over 1.6 s, digest compared. */
    CompletableFuture<byte[]> transfer(byte[] data) throws Exception {
        String token = tokens.mint(30_000);
        Socket a = dial(token, 0);
        Socket b = dial(token, 0);
        assertEquals("OK", readLine(a));
        assertEquals("OK", readLine(b));
        new Random(7).nextBytes(data);
        CompletableFuture<byte[]> atB = CompletableFuture.supplyAsync(() -> sha(b, data.length));
        Thread w =
                new Thread(
                        () -> {
                            for (int off = 0; off < data.length; off += 1 << 20) {
                                write(a, Arrays.copyOfRange(data, off, off + (1 << 20)));
                                sleepQuietly(200);
                            }
                        },
                        "reading-pair-writer");
        w.setDaemon(true);
        w.start();
        return atB;
    }

    @Test
    void pastTheBudgetTheLongestStallsAreResetOnceOldEnoughUntilItHoldsLess() throws Exception {
        // 2 MiB: the moving pairs' own queues (up to about 320 KiB each) stay well under 1/8 of it,
        // so getting under 7/8 never takes every stalled pair; a 3 s minimum age leaves the slow
        // reader (about half a send buffer per wake-up, every few hundred ms) a wide margin.
        long budget = 2 << 20;
        start(budget, 64 << 20, 3_000);
        Stalled slow = slowReader(); // the oldest, but it moves
        // Past the budget by more than the moving pairs (this reader, the transfer below) can hold
        // for a moment, about 320 KiB each: the stalled pairs alone are over it.
        long moving = 640 << 10;
        // The most it held: past the budget the relay resets pairs, so what it holds now can be
        // under what it held when the loop ended.
        AtomicLong peak = new AtomicLong();
        List<Stalled> stalled =
                stallWhile(() -> peak.accumulateAndGet(held(), Math::max) <= budget + moving);
        assertTrue(peak.get() > budget + moving, "the attack never passed the budget");

        byte[] data = new byte[8 << 20];
        CompletableFuture<byte[]> atB = transfer(data);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long held; // the verdict is the check that ended the wait (see await)
        while ((held = held()) > budget && System.nanoTime() < end) Thread.sleep(20);
        assertTrue(held <= budget, "still holding " + held + " bytes");
        assertArrayEquals(
                MessageDigest.getInstance("SHA-256").digest(data), atB.get(30, TimeUnit.SECONDS));

        // The reset pairs are the oldest: a prefix of the order they stalled in, and not all.
        await(
                () ->
                        stalled.stream().filter(Stalled::reset).count()
                                == relay.heldBytes().evicted(),
                "every reset pair's writer saw its reset: slow reset "
                        + slow.reset()
                        + ", stalled reset "
                        + stalled.stream().filter(Stalled::reset).count()
                        + ", evicted "
                        + relay.heldBytes().evicted());
        int reset = 0;
        while (reset < stalled.size() && stalled.get(reset).reset()) reset++;
        for (int i = reset; i < stalled.size(); i++)
            assertFalse(stalled.get(i).reset(), "pair " + i + " reset out of order");
        assertTrue(reset > 0, "no pair reset");
        assertFalse(slow.reset(), "a reader that takes its bytes slowly is not a stall");
        assertTrue(reset < stalled.size(), "every pair reset: more than needed");
        assertEquals(reset, relay.heldBytes().evicted());
        assertEquals(
                reset,
                stats.refusals().get(new ServerStats.Refusal("relay", "memory")).sum(),
                "each reset counts in appshare_rejections{reason=\"memory\"}");
    }

    @Test
    void pastTheCeilingPairsAreResetAtOnceWhateverTheirAge() throws Exception {
        // 1/8 of the ceiling is more than a direction can hold: once under 7/8 of it, the reading
        // pair's own reads cannot take the sum past it again.
        long budget = 512 << 10, ceiling = 3 << 20;
        start(budget, ceiling, 600_000); // no stall gets old enough: only the ceiling acts
        List<Stalled> stalled = stallWhile(() -> relay.heldBytes().evicted() == 0);
        assertTrue(relay.heldBytes().evicted() > 0, "never reset past the ceiling");

        byte[] data = new byte[8 << 20];
        CompletableFuture<byte[]> atB = transfer(data);
        assertArrayEquals(
                MessageDigest.getInstance("SHA-256").digest(data), atB.get(30, TimeUnit.SECONDS));
        long held = relay.heldBytes().held();
        assertTrue(held <= ceiling, "holding " + held + " past the ceiling");
        assertTrue(held > budget, "young stalls under the ceiling stay: " + held);
        await(
                () ->
                        stalled.stream().filter(Stalled::reset).count()
                                == relay.heldBytes().evicted(),
                "only stalled pairs were reset, and their writers saw it");
        long reset = stalled.stream().filter(Stalled::reset).count();
        assertTrue(reset < stalled.size(), "every pair reset: more than needed");
    }

    @Test
    void everyQueuedByteIsReleasedWhenThePairsClose() throws Exception {
        start(64 << 20, 128 << 20, 600_000);
        AtomicLong peak = new AtomicLong(); // the most it held (see the first test)
        List<Stalled> stalled =
                stallWhile(() -> peak.accumulateAndGet(held(), Math::max) < (1 << 20));
        assertTrue(peak.get() >= 1 << 20, "the stalls never made the relay hold 1 MiB");
        for (Stalled s : stalled) {
            s.writer().close();
            s.reader().close();
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (relay.heldBytes().held() != 0 && System.nanoTime() < end) Thread.sleep(20);
        assertEquals(0, relay.heldBytes().held(), "bytes counted and never released");
        assertEquals(0, stats.heldBytes.sum());
        assertEquals(0, relay.heldBytes().evicted());
    }

    long held() {
        return relay.heldBytes().held();
    }

    /**
     * Waits up to 10 s for {@code done}, and fails unless it held. The verdict is the check that
     * ended the wait, not a new one: what the relay holds moves both ways while pairs fill and
     * drain, so a condition seen once can be gone a moment later (asking again failed this test now
     * and then, within a fraction of a second).
     */
    static void await(java.util.function.BooleanSupplier done, String what) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean held;
        while (!(held = done.getAsBoolean()) && System.nanoTime() < end) Thread.sleep(5);
        assertTrue(held, what);
    }

    static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
