package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.path.UdpGate;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hundreds of connections opened at once through one tunnel, as a load test or a busy page does:
 * they spread over the tunnel's QUIC connections (TunnelLanes), as many as they need, and every one
 * carries its own bytes there and back (compared by digest), twice; also over a direct path that
 * loses 2% of its datagrams, and while the tunnel, lanes and all, moves from the relay to the
 * direct path between the two rounds. That last case found a FIN quiche never sends (StreamEnds):
 * under the NAT lab's load a few connections in about 1 run in 20 kept waiting for their end.
 */
class ManyConnectionsTest {
    static final int CONNECTIONS = 400; // four lanes' worth (TunnelLanes.STREAMS_PER_LANE)
    static final int BYTES = 16 << 10;

    @ParameterizedTest(name = "over {0}")
    @EnumSource(
            value = Transport.class,
            names = {"RELAY", "DIRECT"})
    void connectionsOpenedTogetherSpreadOverLanesAndEachCarriesItsBytes(Transport transport)
            throws Exception {
        try (Lab lab = Lab.with(transport);
                TestServers.Tcp echo = TestServers.echo()) {
            Connector c = lab.connect(lab.share(echo.port()).name());
            int[] lanes = carry(c, () -> {});
            assertSpread(lanes);
        }
    }

    @Test
    void connectionsOnLanesMoveFromTheRelayToTheDirectPathTogether() throws Exception {
        UdpGate cut = new UdpGate(UdpGate.Mode.ALL_BUT_STUN); // the relay carries until it opens
        try (Lab lab = Lab.with(Transport.AUTO);
                TestServers.Tcp echo = TestServers.echo()) {
            lab.connectorTap = () -> cut;
            Connector c = lab.connect(lab.share(echo.port()).name());
            assertTrue(lab.awaitLine("Path: ", 0, 10_000).startsWith("Path: relay"));
            int before = lab.consoleLines.size();
            int[] lanes =
                    carry(
                            c,
                            () -> {
                                cut.mode = UdpGate.Mode.OPEN;
                                // time for an ICE restart too: on a slow machine the pair ICE
                                // validated may have been given up while the 400 connected
                                lab.awaitLine("Path: direct", before, 45_000);
                            });
            assertSpread(lanes);
        }
    }

    @Test
    void connectionsOnLanesOverALossyPathEachCarryTheirBytesAndEnd() throws Exception {
        UdpGate lossy = new UdpGate(UdpGate.Mode.OPEN);
        try (Lab lab = Lab.with(Transport.DIRECT);
                TestServers.Tcp echo = TestServers.echo()) {
            lab.connectorTap = () -> lossy;
            Connector c = lab.connect(lab.share(echo.port()).name());
            lossy.loss = 0.02;
            lossy.mode = UdpGate.Mode.LOSSY;
            int[] lanes = carry(c, () -> {});
            assertSpread(lanes);
            assertTrue(lossy.droppedIn.get() + lossy.droppedOut.get() > 0, "datagrams were lost");
        }
    }

    /** At least two lanes carried streams (one that came up after the burst would carry none). */
    static void assertSpread(int[] lanes) {
        assertTrue(
                Arrays.stream(lanes).filter(n -> n > 0).count() > 1,
                "the streams spread over lanes: " + Arrays.toString(lanes));
    }

    interface Between {
        void run() throws Exception;
    }

    /**
     * Opens {@link #CONNECTIONS} connections at once through {@code c}; each sends {@link #BYTES}
     * and reads them back, then all wait while {@code between} runs, then each does it again with
     * other bytes and ends. Returns the open streams on each lane while all were open.
     */
    private static int[] carry(Connector c, Between between) throws Exception {
        int port = c.localAddress().getPort();
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
        CountDownLatch echoed = new CountDownLatch(CONNECTIONS);
        CountDownLatch again = new CountDownLatch(1);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                long seed = i;
                results.add(
                        pool.submit(
                                () -> {
                                    try (Socket s =
                                            new Socket(InetAddress.getLoopbackAddress(), port)) {
                                        boolean ok = echoes(s, seed);
                                        echoed.countDown();
                                        again.await(60, TimeUnit.SECONDS);
                                        ok &= echoes(s, seed + CONNECTIONS);
                                        s.shutdownOutput();
                                        return ok && s.getInputStream().read() == -1;
                                    }
                                }));
            }
            assertTrue(echoed.await(60, TimeUnit.SECONDS), "every connection echoed");
            int[] lanes = c.testOnlyLaneStreams();
            between.run();
            again.countDown();
            int ok = 0;
            for (Future<Boolean> f : results) if (f.get(60, TimeUnit.SECONDS)) ok++;
            assertEquals(CONNECTIONS, ok, "connections whose bytes came back whole, twice");
            assertEquals(
                    CONNECTIONS,
                    Arrays.stream(lanes).sum(),
                    "open streams on the lanes: " + Arrays.toString(lanes));
            // How many lanes the burst got depends on how soon they came up (a stream waits 1 s
            // for one at most): TunnelLanesTest counts them exactly.
            return lanes;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Sends {@link #BYTES} from {@code seed} and reads them back; whether they are the same. */
    private static boolean echoes(Socket s, long seed) throws Exception {
        String sent = Bytes.send(s.getOutputStream(), BYTES, seed);
        InputStream in = s.getInputStream();
        byte[] back = in.readNBytes(BYTES);
        return sent.equals(HexFormat.of().formatHex(Bytes.sha256().digest(back)));
    }
}
