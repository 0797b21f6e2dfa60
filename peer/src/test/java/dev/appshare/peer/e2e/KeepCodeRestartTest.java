package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.share.KeptCode;
import dev.appshare.peer.share.Sharer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stable code survives a share restart: a {@code connect} started before the restart carries on
 * after it (share --keep-code). The restarted share is a new Sharer from the same file: a new
 * process's worth of state (its own ProvingConnectors, sessions, rendezvous connection), with the
 * key, words and name it read back.
 */
class KeepCodeRestartTest {
    private static final long LEN = 2 << 20;

    @TempDir Path dir;

    @Test
    void aStableCodeSurvivesAShareRestartAndTheWaitingConnectorCarriesOn() throws Exception {
        Path file = dir.resolve("share.code");
        try (Lab lab = new Lab();
                TestServers.Tcp source =
                        new TestServers.Tcp(
                                s -> {
                                    long seed =
                                            new java.io.DataInputStream(s.getInputStream())
                                                    .readLong();
                                    Bytes.send(s.getOutputStream(), LEN, seed);
                                })) {
            List<InetSocketAddress> target =
                    List.of(new InetSocketAddress("127.0.0.1", source.port()));
            Sharer first = lab.share(target, null, KeptCode.open(file, new SecureRandom()));
            String code = first.name();
            assertEquals("Name: " + code, lab.awaitLine("Name: ", 0, 5_000));

            Connector c = lab.connect(code);
            int port = c.localAddress().getPort();
            assertEquals(expected(1), fetch(port, 1), "a transfer before the restart");

            first.close();
            int seen = lab.consoleLines.size();
            // A second share from the same file: the same code, without asking for a name.
            Sharer second = lab.share(target, null, KeptCode.open(file, new SecureRandom()));
            assertEquals(code, second.name());
            assertEquals("Name: " + code, lab.awaitLine("Name: ", seen, 5_000));

            // The same connector, still running, gets through to the restarted share.
            String got = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            while (got == null && System.nanoTime() < deadline) {
                try {
                    String d = fetch(port, 2);
                    if (d.equals(expected(2))) got = d;
                    else Thread.sleep(200); // the old tunnel's end: ask again
                } catch (IOException notYet) {
                    Thread.sleep(200);
                }
            }
            assertEquals(expected(2), got, "a transfer through the same connector after it");
        }
    }

    /** A share without the file draws a new code: what the kept one is measured against. */
    @Test
    void withoutAKeptCodeARestartedShareHasAnotherCode() throws Exception {
        try (Lab lab = new Lab();
                TestServers.Tcp echo = TestServers.echo()) {
            Sharer a = lab.share(echo.port());
            String code = a.name();
            a.close();
            assertNotEquals(code, lab.share(echo.port()).name());
        }
    }

    private static String expected(long seed) throws IOException {
        return Bytes.send(OutputStream.nullOutputStream(), LEN, seed);
    }

    /** Asks the source for LEN bytes from {@code seed}; their digest, or the short stream's. */
    private static String fetch(int port, long seed) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            new java.io.DataOutputStream(s.getOutputStream()).writeLong(seed);
            return Bytes.drain(s.getInputStream()).sha256();
        }
    }
}
