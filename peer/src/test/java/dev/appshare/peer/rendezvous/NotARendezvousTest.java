package dev.appshare.peer.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.ProtocolException;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A --server that accepts TCP but is no rendezvous: `share` must fail with a clear error after a
 * bounded number of attempts, not reconnect forever.
 */
class NotARendezvousTest {
    private final EventLoopGroup group = EventLoops.newGroup(1);
    private final List<String> console = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** A loopback TCP server that counts accepts and runs {@code session} on each, then closes. */
    static final class FakeServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger accepts = new AtomicInteger();
        private final Thread thread;

        interface Session {
            void run(Socket s) throws IOException;
        }

        FakeServer(Session session) throws IOException {
            thread =
                    new Thread(
                            () -> {
                                while (!socket.isClosed()) {
                                    try (Socket s = socket.accept()) {
                                        accepts.incrementAndGet();
                                        session.run(s);
                                    } catch (IOException e) {
                                        // closed, or the client went first
                                    }
                                }
                            },
                            "fake-server");
            thread.setDaemon(true);
            thread.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", socket.getLocalPort());
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private Sharer share(InetSocketAddress server) {
        return new Sharer(
                new Sharer.Config(
                        server,
                        new InetSocketAddress("127.0.0.1", 9),
                        null,
                        new PathOptions(
                                Transport.RELAY, List.of(), PathOptions.ICE_TIMEOUT_MILLIS, null)),
                group,
                console::add);
    }

    /** Starts a share against {@code server}; it must fail, and the server saw a bounded count. */
    private PeerException failsAfterBoundedAttempts(FakeServer server) throws Exception {
        Sharer s = share(server.address());
        try {
            ExecutionException e =
                    assertThrows(
                            ExecutionException.class, () -> s.start().get(30, TimeUnit.SECONDS));
            PeerException p = assertInstanceOf(PeerException.class, e.getCause());
            assertEquals(RendezvousClient.FIRST_CONNECT_ATTEMPTS, server.accepts.get());
            Thread.sleep(1_000);
            assertEquals(
                    RendezvousClient.FIRST_CONNECT_ATTEMPTS,
                    server.accepts.get(),
                    "no attempt after giving up");
            assertTrue(console.isEmpty(), "no Name: line: " + console);
            return p;
        } finally {
            s.close();
        }
    }

    @Test
    void aServerThatAcceptsAndClosesAtOnceFailsTheShare() throws Exception {
        try (FakeServer server = new FakeServer(s -> {})) {
            PeerException e = failsAfterBoundedAttempts(server);
            assertTrue(
                    e.getMessage().contains("does not speak appshare's protocol"), e.getMessage());
        }
    }

    @Test
    void anHttpServerFailsTheShareWithAClearError() throws Exception {
        try (FakeServer server =
                new FakeServer(
                        s ->
                                s.getOutputStream()
                                        .write(
                                                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
                                                        .getBytes(StandardCharsets.US_ASCII)))) {
            PeerException e = failsAfterBoundedAttempts(server);
            assertTrue(
                    e.getMessage().contains("does not speak appshare's protocol"), e.getMessage());
        }
    }

    /** Writes one control frame. */
    static void writeFrame(Socket s, RendezvousMessage m) throws IOException {
        byte[] body = m.encode().getBytes(StandardCharsets.UTF_8);
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeShort(body.length);
        out.write(body);
        out.flush();
    }

    /** Reads one control frame (within 5 s). */
    static RendezvousMessage readFrame(Socket s) throws IOException {
        s.setSoTimeout(5_000);
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] body = new byte[in.readUnsignedShort()];
        in.readFully(body);
        try {
            return RendezvousMessage.decode(new String(body, StandardCharsets.UTF_8));
        } catch (ProtocolException e) {
            throw new IOException(e);
        }
    }

    @Test
    void aServerThatAnswersThenClosesAtOnceIsRetriedWithBackOff() throws Exception {
        // A server that registers the share properly (v2: REGISTER, CHALLENGE, a valid PROVE,
        // REGISTERED), then closes at once, every time.
        AtomicInteger proven = new AtomicInteger();
        try (FakeServer server =
                new FakeServer(
                        s -> {
                            RendezvousMessage register = readFrame(s);
                            if (!RendezvousProtocol.REGISTER.equals(register.type())) return;
                            String nonce = RegistrationProof.nonce(new SecureRandom());
                            writeFrame(
                                    s,
                                    RendezvousMessage.of(
                                            RendezvousProtocol.CHALLENGE, "nonce", nonce));
                            RendezvousMessage prove = readFrame(s);
                            try {
                                if (!RegistrationProof.verify(
                                        RegistrationProof.decodeKey(register.get("key")),
                                        nonce,
                                        prove.get("sig"))) return;
                            } catch (ProtocolException e) {
                                return;
                            }
                            proven.incrementAndGet();
                            writeFrame(
                                    s,
                                    RendezvousMessage.of(
                                            RendezvousProtocol.REGISTERED, "name", "1234"));
                        })) {
            Sharer s = share(server.address());
            try {
                String code = s.start().get(10, TimeUnit.SECONDS);
                assertEquals("1234", ShareCode.parse(code).name(), code);
                Thread.sleep(6_000);
                // Back-off 0.5, 1, 2, 4 s: 5 connections in these 6 s; a fixed 250 ms made 24.
                int seen = server.accepts.get();
                assertTrue(seen <= 8, seen + " connections in 6 s");
                assertTrue(seen >= 2, "it does reconnect: " + seen);
                assertTrue(proven.get() >= 2, "it proved its key each time: " + proven.get());
            } finally {
                s.close();
            }
        }
    }
}
