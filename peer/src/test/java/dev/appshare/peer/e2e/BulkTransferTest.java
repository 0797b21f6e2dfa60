package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** 200 MB each way at once through the tunnel, compared by SHA-256. */
class BulkTransferTest {
    static final long SIZE = 200L << 20;

    @ParameterizedTest(name = "over {0}")
    @EnumSource(
            value = Transport.class,
            names = {"RELAY", "DIRECT"})
    void twoHundredMegabytesEachWayAtOnce(Transport transport) throws Exception {
        CompletableFuture<Bytes.Digest> atServer = new CompletableFuture<>();
        CompletableFuture<String> fromServer = new CompletableFuture<>();
        try (TestServers.Tcp server =
                        new TestServers.Tcp(
                                s -> {
                                    CompletableFuture<Void> sending =
                                            CompletableFuture.runAsync(
                                                    () -> {
                                                        try {
                                                            fromServer.complete(
                                                                    Bytes.send(
                                                                            s.getOutputStream(),
                                                                            SIZE,
                                                                            2));
                                                            s.shutdownOutput();
                                                        } catch (Exception e) {
                                                            fromServer.completeExceptionally(e);
                                                        }
                                                    });
                                    atServer.complete(Bytes.drain(s.getInputStream()));
                                    sending.get(120, TimeUnit.SECONDS);
                                });
                Lab lab = Lab.with(transport)) {
            Connector c = lab.connect(lab.share(server.port()).name());
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                CompletableFuture<String> sent =
                        CompletableFuture.supplyAsync(
                                () -> {
                                    try {
                                        String d = Bytes.send(s.getOutputStream(), SIZE, 1);
                                        s.shutdownOutput();
                                        return d;
                                    } catch (Exception e) {
                                        throw new RuntimeException(e);
                                    }
                                });
                Bytes.Digest atClient = Bytes.drain(s.getInputStream());
                assertEquals(SIZE, atClient.length());
                assertEquals(
                        fromServer.get(120, TimeUnit.SECONDS),
                        atClient.sha256(),
                        "server -> client bytes");
                Bytes.Digest got = atServer.get(120, TimeUnit.SECONDS);
                assertEquals(SIZE, got.length());
                assertEquals(
                        sent.get(120, TimeUnit.SECONDS), got.sha256(), "client -> server bytes");
            }
        }
    }
}
