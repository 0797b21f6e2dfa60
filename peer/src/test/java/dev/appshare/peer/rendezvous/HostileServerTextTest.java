package dev.appshare.peer.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.rendezvous.NotARendezvousTest.FakeServer;
import dev.appshare.peer.share.Sharer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.DataOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A server whose ERROR message carries terminal escapes and a forged log line: `share` and
 * `connect` report it without a single control character (what reaches the console and the log).
 */
class HostileServerTextTest {
    private static final String HOSTILE =
            "refused\u001b[2J\u001b[H\r\nINFO all good, type your password:\u0007\u009b31m";
    private static final String SHOWN = "refused INFO all good, type your password:";

    private final EventLoopGroup group = EventLoops.newGroup(1);

    @AfterEach
    void stop() throws InterruptedException {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** Answers every control connection with that ERROR (after reading nothing), then closes. */
    private static FakeServer hostile() throws Exception {
        byte[] error =
                RendezvousMessage.of(
                                RendezvousProtocol.ERROR,
                                "code",
                                RendezvousProtocol.E_BAD_REQUEST,
                                "message",
                                HOSTILE)
                        .encode()
                        .getBytes(StandardCharsets.UTF_8);
        return new FakeServer(
                s -> {
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    out.writeShort(error.length);
                    out.write(error);
                    out.flush();
                    s.getInputStream().read(); // let the client read it before the close
                });
    }

    private static PathOptions relayOnly() {
        return new PathOptions(Transport.RELAY, List.of(), PathOptions.ICE_TIMEOUT_MILLIS, null);
    }

    private static String failure(Future<?> f) {
        ExecutionException e =
                assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
        return assertInstanceOf(PeerException.class, e.getCause()).getMessage();
    }

    private static void assertPrintable(String message) {
        assertTrue(message.endsWith(SHOWN), message);
        for (char c : message.toCharArray()) {
            assertTrue(
                    c >= 0x20 && (c < 0x7f || c > 0x9f), "control 0x" + (int) c + ": " + message);
        }
    }

    @Test
    void aShareReportsTheServersErrorWithoutControlCharacters() throws Exception {
        try (FakeServer server = hostile()) {
            Sharer s =
                    new Sharer(
                            new Sharer.Config(
                                    server.address(),
                                    new InetSocketAddress("127.0.0.1", 9),
                                    null,
                                    relayOnly()),
                            group,
                            line -> {});
            try {
                String m = failure(s.start());
                assertEquals("the rendezvous refused this share: " + SHOWN, m);
                assertPrintable(m);
            } finally {
                s.close();
            }
        }
    }

    @Test
    void aConnectorReportsTheServersErrorWithoutControlCharacters() throws Exception {
        try (FakeServer server = hostile()) {
            Connector c =
                    new Connector(
                            new Connector.Config(
                                    server.address(),
                                    "calm-otter-1234",
                                    new InetSocketAddress("127.0.0.1", 0),
                                    relayOnly()),
                            group,
                            line -> {});
            try {
                String m = failure(c.start());
                assertEquals("the rendezvous refused: " + SHOWN, m);
                assertPrintable(m);
            } finally {
                c.close();
            }
        }
    }
}
