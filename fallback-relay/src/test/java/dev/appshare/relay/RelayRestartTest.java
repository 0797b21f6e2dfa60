package dev.appshare.relay;

import static dev.appshare.relay.RelayServerTest.readLine;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A relay stopped under live splices and started again on the same port and the same event loops,
 * as {@code appshare server} restarts in the e2e lab: when {@link RelayServer#close} returns no
 * connection of it is still open, the new relay binds the port at the first attempt, and every
 * client learns its connection is gone. The pairs are spread over both loops, so half of them were
 * moved onto their partner's loop (on epoll); a moved socket must close like any other.
 */
class RelayRestartTest {
    static final int PAIRS = 4;
    static final int RESTARTS = 3;

    EventLoopGroup group;
    RelayToken tokens;
    RelayServer relay;
    final List<Socket> sockets = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        group = EventLoops.newGroup(2);
        tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
        // Below Linux's ephemeral range (32768+), so no client socket of this JVM takes the port
        // between a stop and the start that rebinds it (as the e2e Lab does).
        Random r = new Random();
        for (int attempt = 0; relay == null; attempt++) {
            try {
                relay = startOn(26_000 + r.nextInt(6_000));
            } catch (Exception taken) {
                if (attempt > 50) throw taken;
            }
        }
    }

    RelayServer startOn(int port) throws Exception {
        return new RelayServer(tokens, 10_000)
                .start(group, new InetSocketAddress("127.0.0.1", port));
    }

    @AfterEach
    void stop() throws Exception {
        for (Socket s : sockets) s.close();
        relay.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    @Test
    void aRelayStoppedUnderLiveSplicesClosesThemAndRebindsAtOnce() throws Exception {
        int port = relay.localAddress().getPort();
        for (int round = 0; round < RESTARTS; round++) {
            List<Socket> clients = new ArrayList<>();
            for (int p = 0; p < PAIRS; p++) {
                String token = tokens.mint(30_000);
                Socket a = dial(port, token);
                Socket b = dial(port, token);
                assertEquals("OK", readLine(a));
                assertEquals("OK", readLine(b));
                a.getOutputStream().write('x');
                assertEquals('x', b.getInputStream().read());
                b.getOutputStream().write('y');
                assertEquals('y', a.getInputStream().read());
                clients.add(a);
                clients.add(b);
            }
            relay.close();
            // Closed means closed: no socket of the stopped relay is still connected (a socket
            // whose descriptor outlives its close still holds its connection open).
            assertEquals(
                    List.of(),
                    established(port),
                    "round " + round + ": connections of the stopped relay still open");
            // The same port at once: no retry, no wait.
            relay = startOn(port);
            for (Socket c : clients) {
                assertEquals(
                        -1,
                        endOf(c),
                        "round " + round + ": a client of the stopped relay was not closed");
            }
        }
    }

    Socket dial(int port, String token) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        sockets.add(s);
        s.setSoTimeout(5_000);
        s.getOutputStream().write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
        return s;
    }

    /**
     * The remote ports of this host's ESTABLISHED TCP connections whose local port is {@code port},
     * from /proc/net/tcp and tcp6.
     */
    static List<Integer> established(int port) throws IOException {
        List<Integer> remotes = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        // Java's and netty's sockets are IPv6 ones (IPv4 as ::ffff:a.b.c.d): they are in tcp6
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> all = Files.readAllLines(Path.of(table));
            lines.addAll(all.subList(1, all.size()));
        }
        for (String line : lines) {
            // sl local_address rem_address st ...: addresses are HEXIP:HEXPORT, st 01 = ESTABLISHED
            String[] f = line.trim().split("\\s+");
            int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
            if (local == port && f[3].equals("01")) {
                remotes.add(Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16));
            }
        }
        return remotes;
    }

    /** -1 once the relay has closed the connection (a reset counts too), 0 if it stays open. */
    static int endOf(Socket s) throws IOException {
        try {
            return s.getInputStream().read() < 0 ? -1 : 1;
        } catch (SocketTimeoutException open) {
            return 0;
        } catch (IOException reset) {
            return -1;
        }
    }
}
