package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hundreds of connections opened at once through one tunnel, as a load test or a busy page does:
 * they spread over the tunnel's QUIC connections (TunnelLanes), as many as they need, and every one
 * carries its own bytes there and back (compared by digest).
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
        ExecutorService pool = Executors.newFixedThreadPool(CONNECTIONS);
        CountDownLatch echoed = new CountDownLatch(CONNECTIONS);
        CountDownLatch counted = new CountDownLatch(1);
        try (Lab lab = Lab.with(transport);
                TestServers.Tcp echo = TestServers.echo()) {
            String name = lab.share(echo.port()).name();
            Connector c = lab.connect(name);
            int port = c.localAddress().getPort();
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) {
                long seed = i;
                results.add(
                        pool.submit(
                                () -> {
                                    try (Socket s =
                                            new Socket(InetAddress.getLoopbackAddress(), port)) {
                                        String sent = Bytes.send(s.getOutputStream(), BYTES, seed);
                                        InputStream in = s.getInputStream();
                                        byte[] back = in.readNBytes(BYTES);
                                        echoed.countDown();
                                        // held open until the lanes are counted
                                        counted.await(60, TimeUnit.SECONDS);
                                        s.shutdownOutput();
                                        boolean ended = in.read() == -1;
                                        return ended
                                                && sent.equals(
                                                        java.util.HexFormat.of()
                                                                .formatHex(
                                                                        Bytes.sha256()
                                                                                .digest(back)));
                                    }
                                }));
            }
            assertTrue(echoed.await(60, TimeUnit.SECONDS), "every connection echoed");
            int[] lanes = c.testOnlyLaneStreams();
            counted.countDown();
            int ok = 0;
            for (Future<Boolean> f : results) if (f.get(60, TimeUnit.SECONDS)) ok++;
            assertEquals(CONNECTIONS, ok, "connections whose bytes came back whole");
            assertEquals(
                    CONNECTIONS,
                    Arrays.stream(lanes).sum(),
                    "open streams on the lanes: " + Arrays.toString(lanes));
            // How many lanes the burst got depends on how soon they came up (a stream waits 1 s
            // for one at most): TunnelLanesTest counts them exactly.
            assertTrue(
                    lanes.length > 1, "the streams spread over lanes: " + Arrays.toString(lanes));
        } finally {
            pool.shutdownNow();
        }
    }
}
