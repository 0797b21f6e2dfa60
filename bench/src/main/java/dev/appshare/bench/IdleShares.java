package dev.appshare.bench;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Benchmark helper for scripts/bench: the rendezvous server's memory per idle share. Registers N
 * shares over N control connections (each with its own P-256 key, {@code REGISTER v=2 key=..}, the
 * {@code PROVE} of the server's {@code CHALLENGE}, as a real share does; then a PING every {@value
 * RendezvousProtocol#HEARTBEAT_MILLIS} ms as a real share does), and measures the server's live
 * heap before and after with {@code jcmd PID GC.class_histogram} (a full GC, then the bytes of
 * every live object), plus its resident set from /proc as a second view.
 *
 * <p>A small warm-up batch is registered and dropped first, so one-time costs (classes, name lists,
 * pools) fall before the baseline. After the measurement the shares are held for {@code
 * --hold-seconds} after the last one registered (so each has sent a PING and had its PONG), then
 * closed, and the heap is measured each second (up to 10 s) until it is back within a tenth of what
 * the shares added, to see that the server lets go of them.
 *
 * <pre>
 *   IdleShares --server HOST:PORT --pid PID [--shares 1000] [--hold-seconds 18]
 * </pre>
 *
 * Prints {@code key=value} lines; the last is {@code result ...} with everything scripts/bench
 * needs.
 */
public final class IdleShares {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final InetSocketAddress server;
    private final EventLoopGroup group = EventLoops.newGroup(1);
    private final AtomicInteger registered = new AtomicInteger();
    private final AtomicInteger pongs = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final AtomicInteger closedEarly = new AtomicInteger();
    private final Map<String, Integer> errorTexts = new ConcurrentHashMap<>();
    private volatile boolean closing;

    private IdleShares(InetSocketAddress server) {
        this.server = server;
    }

    public static void main(String[] args) throws Exception {
        String server = null;
        long pid = -1;
        int shares = 1000;
        int holdSeconds = 18;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--server" -> server = args[i + 1];
                case "--pid" -> pid = Long.parseLong(args[i + 1]);
                case "--shares" -> shares = Integer.parseInt(args[i + 1]);
                case "--hold-seconds" -> holdSeconds = Integer.parseInt(args[i + 1]);
                default -> {
                    System.err.println("IdleShares: unknown option " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (server == null || pid < 0) {
            System.err.println(
                    "usage: IdleShares --server HOST:PORT --pid PID [--shares N] [--hold-seconds"
                            + " S]");
            System.exit(2);
        }
        int colon = server.lastIndexOf(':');
        IdleShares bench =
                new IdleShares(
                        new InetSocketAddress(
                                server.substring(0, colon),
                                Integer.parseInt(server.substring(colon + 1))));
        try {
            bench.run(pid, shares, holdSeconds);
        } finally {
            bench.group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(3, TimeUnit.SECONDS);
        }
    }

    private void run(long pid, int n, int holdSeconds) throws Exception {
        // Warm-up: a few shares register and leave, so one-time costs land before the baseline.
        List<Channel> warm = open(20, 60);
        closeAll(warm);
        Thread.sleep(500);
        registered.set(0);

        long heap0 = liveHeap(pid), rss0 = rss(pid);
        System.out.printf("before heap=%d rss=%d%n", heap0, rss0);

        long t0 = System.nanoTime();
        List<Channel> held = open(n, 60);
        double registerSeconds = (System.nanoTime() - t0) / 1e9;
        int ok = registered.get();
        System.out.printf(
                Locale.ROOT,
                "registered=%d of %d in %.2f s (errors %d %s)%n",
                ok,
                n,
                registerSeconds,
                errors.get(),
                errorTexts);
        Thread.sleep(1000);
        long heap1 = liveHeap(pid), rss1 = rss(pid);
        System.out.printf("with-shares heap=%d rss=%d%n", heap1, rss1);

        // Hold from the moment the last share registered: by then each has sent its first PING (15
        // s
        // after it connected) and, a moment later, had its PONG.
        long holdUntil =
                t0 + TimeUnit.SECONDS.toNanos(holdSeconds) + (long) (registerSeconds * 1e9);
        while (System.nanoTime() < holdUntil) Thread.sleep(200);
        long alive = held.stream().filter(Channel::isActive).count();
        int pongCount = pongs.get();
        System.out.printf(
                "held %d s after registering: alive=%d pongs=%d closed_by_server=%d%n",
                holdSeconds, alive, pongCount, closedEarly.get());

        // After the shares leave, the heap should come back to the baseline: poll for up to 10 s.
        closeAll(held);
        long closed = System.nanoTime();
        long heap2;
        do {
            Thread.sleep(1000);
            heap2 = liveHeap(pid);
        } while (heap2 > heap0 + (heap1 - heap0) / 10
                && System.nanoTime() - closed < TimeUnit.SECONDS.toNanos(10));
        double releaseSeconds = (System.nanoTime() - closed) / 1e9;
        long rss2 = rss(pid);
        System.out.printf(
                Locale.ROOT,
                "after-close heap=%d rss=%d (%.1f s after closing)%n",
                heap2,
                rss2,
                releaseSeconds);

        double perShareHeap = ok > 0 ? (double) (heap1 - heap0) / ok : Double.NaN;
        double perShareRss = ok > 0 ? (double) (rss1 - rss0) / ok : Double.NaN;
        System.out.printf(
                Locale.ROOT,
                "result shares=%d registered=%d alive=%d pongs=%d errors=%d heap_before=%d"
                        + " heap_with=%d heap_after_close=%d rss_before=%d rss_with=%d"
                        + " rss_after_close=%d heap_per_share=%.0f rss_per_share=%.0f"
                        + " register_seconds=%.2f release_seconds=%.1f%n",
                n,
                ok,
                alive,
                pongCount,
                errors.get(),
                heap0,
                heap1,
                heap2,
                rss0,
                rss1,
                rss2,
                perShareHeap,
                perShareRss,
                registerSeconds,
                releaseSeconds);
    }

    /** Opens n control connections, each registering a share; waits until every one answered. */
    private List<Channel> open(int n, int timeoutSeconds) throws Exception {
        CountDownLatch answered = new CountDownLatch(n);
        Semaphore inFlight = new Semaphore(100);
        List<Channel> channels = new ArrayList<>(n);
        Bootstrap b =
                new Bootstrap()
                        .group(group)
                        .channel(EventLoops.socket())
                        .option(ChannelOption.TCP_NODELAY, true)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                        .handler(
                                new ChannelInitializer<SocketChannel>() {
                                    @Override
                                    protected void initChannel(SocketChannel ch) {
                                        RendezvousFrames.install(ch.pipeline());
                                        ch.pipeline().addLast(new FakeShare(answered, inFlight));
                                    }
                                });
        for (int i = 0; i < n; i++) {
            if (!inFlight.tryAcquire(timeoutSeconds, TimeUnit.SECONDS)) break;
            Channel ch =
                    b.connect(server, sourceFor(i))
                            .addListener(
                                    (ChannelFutureListener)
                                            f -> {
                                                if (!f.isSuccess()) {
                                                    countError(
                                                            "connect: " + f.cause().getMessage());
                                                    inFlight.release();
                                                    answered.countDown();
                                                }
                                            })
                            .channel();
            channels.add(ch);
        }
        if (!answered.await(timeoutSeconds, TimeUnit.SECONDS)) {
            System.out.printf(
                    "only %d of %d shares answered within %d s%n",
                    n - answered.getCount(), n, timeoutSeconds);
        }
        return channels;
    }

    /**
     * Where share {@code i} connects from: on loopback, an address of its own in 127.1.0.0/16, as a
     * thousand real shares would come from a thousand hosts (the rendezvous budgets shares and
     * connections per source address); elsewhere, any.
     */
    private SocketAddress sourceFor(int i) throws UnknownHostException {
        if (!server.getAddress().isLoopbackAddress()) return null;
        byte[] a = {127, 1, (byte) (i / 250), (byte) (1 + i % 250)};
        return new InetSocketAddress(InetAddress.getByAddress(a), 0);
    }

    private void closeAll(List<Channel> channels) {
        closing = true;
        for (Channel ch : channels) ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        closing = false;
    }

    private void countError(String text) {
        errors.incrementAndGet();
        errorTexts.merge(text, 1, Integer::sum);
    }

    /** One idle share: registers, then pings every heartbeat interval, as `appshare share` does. */
    private final class FakeShare extends SimpleChannelInboundHandler<RendezvousMessage> {
        private final CountDownLatch answered;
        private final Semaphore inFlight;
        private final KeyPair key = newKey();
        private ScheduledFuture<?> pinger;
        private boolean done;

        FakeShare(CountDownLatch answered, Semaphore inFlight) {
            this.answered = answered;
            this.inFlight = inFlight;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(
                    RendezvousMessage.of(
                            REGISTER,
                            "v",
                            VERSION,
                            "key",
                            RegistrationProof.encodeKey(key.getPublic())));
            pinger =
                    ctx.executor()
                            .scheduleAtFixedRate(
                                    () -> ctx.writeAndFlush(RendezvousMessage.of(PING)),
                                    HEARTBEAT_MILLIS,
                                    HEARTBEAT_MILLIS,
                                    TimeUnit.MILLISECONDS);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, RendezvousMessage m) {
            switch (m.type()) {
                case CHALLENGE ->
                        ctx.writeAndFlush(
                                RendezvousMessage.of(
                                        PROVE,
                                        "sig",
                                        RegistrationProof.sign(key.getPrivate(), m.get("nonce"))));
                case REGISTERED -> {
                    registered.incrementAndGet();
                    answer();
                }
                case PONG -> pongs.incrementAndGet();
                case ERROR -> {
                    countError(m.get("code") + ": " + m.get("message"));
                    answer();
                }
                default -> {}
            }
        }

        private void answer() {
            if (done) return;
            done = true;
            inFlight.release();
            answered.countDown();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (pinger != null) pinger.cancel(false);
            if (!closing) closedEarly.incrementAndGet();
            if (!done) countError("closed before an answer");
            answer();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            countError(cause.toString());
            ctx.close();
        }
    }

    private static KeyPair newKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Live heap bytes: jcmd's class histogram runs a full GC and sums every live object. */
    static long liveHeap(long pid) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p =
                new ProcessBuilder(
                                Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd",
                                Long.toString(pid),
                                "GC.class_histogram")
                        .redirectErrorStream(true)
                        .start();
        long total = -1;
        StringBuilder tail = new StringBuilder();
        try (BufferedReader r =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                String t = line.trim();
                if (t.startsWith("Total")) {
                    String[] f = t.split("\\s+");
                    total = Long.parseLong(f[f.length - 1]);
                }
                if (tail.length() < 2000) tail.append(line).append('\n');
            }
        }
        if (!p.waitFor(60, TimeUnit.SECONDS) || total < 0) {
            throw new IOException("jcmd " + pid + " GC.class_histogram gave no total:\n" + tail);
        }
        return total;
    }

    /** Resident set in bytes, from /proc/PID/status. */
    static long rss(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:"))
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        return -1;
    }
}
