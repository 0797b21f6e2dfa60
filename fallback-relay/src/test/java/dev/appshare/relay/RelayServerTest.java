package dev.appshare.relay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RelayServerTest {
    EventLoopGroup group;
    RelayToken tokens;
    RelayServer relay;

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        relay = new RelayServer(tokens, 1_000).start(group, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterEach
    void stop() throws Exception {
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    Socket dial(String token) throws Exception {
        Socket s = new Socket("127.0.0.1", relay.localAddress().getPort());
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    static String readLine(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') sb.append((char) c);
        return sb.toString();
    }

    @Test
    void splicesTwoConnectionsByteExactBothWays() throws Exception {
        String token = tokens.mint(30_000);
        try (Socket a = dial(token);
                Socket b = dial(token)) {
            assertEquals("OK", readLine(a));
            assertEquals("OK", readLine(b));
            byte[] ab = new byte[8 << 20];
            byte[] ba = new byte[8 << 20];
            new Random(1).nextBytes(ab);
            new Random(2).nextBytes(ba);
            CompletableFuture<byte[]> atB = CompletableFuture.supplyAsync(() -> sha(b, ab.length));
            CompletableFuture<byte[]> atA = CompletableFuture.supplyAsync(() -> sha(a, ba.length));
            CompletableFuture.runAsync(() -> write(a, ab));
            CompletableFuture.runAsync(() -> write(b, ba));
            assertArrayEquals(
                    MessageDigest.getInstance("SHA-256").digest(ab), atB.get(30, TimeUnit.SECONDS));
            assertArrayEquals(
                    MessageDigest.getInstance("SHA-256").digest(ba), atA.get(30, TimeUnit.SECONDS));
        }
    }

    /**
     * On epoll both connections of a pair end on one event loop (the first's), so the splice copies
     * in one thread. The group has two loops and hands accepted connections out in turn, so every
     * pair here arrives split across both loops: without the move each assertion fails. Bytes still
     * cross each pair both ways after the move.
     */
    @Test
    void theTwoConnectionsOfAPairEndOnOneEventLoop() throws Exception {
        assumeTrue(EventLoops.epoll(), "pairs move only on epoll; NIO keeps two loops");
        for (int pair = 0; pair < 4; pair++) {
            String token = tokens.mint(30_000);
            try (Socket a = dial(token);
                    Socket b = dial(token)) {
                assertEquals("OK", readLine(a));
                assertEquals("OK", readLine(b));
                a.getOutputStream().write('x');
                assertEquals('x', b.getInputStream().read());
                b.getOutputStream().write('y');
                assertEquals('y', a.getInputStream().read());
                Channel atA = relaySide(a);
                Channel atB = relaySide(b);
                assertTrue(atA.isRegistered() && atB.isRegistered());
                assertSame(atA.eventLoop(), atB.eventLoop(), "pair " + pair + " on two loops");
            }
        }
    }

    /** The relay's end of a client's connection. */
    Channel relaySide(Socket client) {
        for (Channel ch : relay.children()) {
            InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
            if (remote != null && remote.getPort() == client.getLocalPort()) return ch;
        }
        throw new AssertionError("no relay connection from port " + client.getLocalPort());
    }

    static void write(Socket s, byte[] data) {
        try {
            s.getOutputStream().write(data);
            s.getOutputStream().flush();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static byte[] sha(Socket s, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            InputStream in = s.getInputStream();
            int left = len;
            while (left > 0) {
                int n = in.read(buf, 0, Math.min(buf.length, left));
                if (n < 0) throw new IllegalStateException("EOF with " + left + " bytes left");
                md.update(buf, 0, n);
                left -= n;
            }
            return md.digest();
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
