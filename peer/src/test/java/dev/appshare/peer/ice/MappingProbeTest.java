package dev.appshare.peer.ice;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.socket.IceUdpSocketWrapper;
import org.ice4j.stack.StunStack;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A peer learns its NAT's mapping from the server's two STUN ports, through ice4j's STUN stack on
 * one socket, against a real server on loopback: no NAT (the same address from both ports); a
 * simulated NAT that maps per destination (the second port is reached through a forwarder with a
 * socket of its own, so it sees another address); a second port that never answers.
 */
class MappingProbeTest {
    private static EventLoopGroup group;
    private RendezvousServer server;
    private StunStack stack;
    private DatagramSocket socket;
    private TransportAddress through;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = new InetSocketAddress("127.0.0.1", 0);
        for (int attempt = 0; ; attempt++) {
            try {
                server =
                        new RendezvousServer(
                                        cfg,
                                        new RelayToken(
                                                RelayToken.randomSecret(), Clock.systemUTC()))
                                .start(group);
                break;
            } catch (IllegalStateException udpTaken) {
                if (attempt >= 5) throw udpTaken;
            }
        }
        stack = new StunStack();
        socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        stack.addSocket(new IceUdpSocketWrapper(socket));
        through = new TransportAddress("127.0.0.1", socket.getLocalPort(), Transport.UDP);
    }

    @AfterEach
    void stop() {
        stack.shutDown();
        socket.close();
        server.close();
    }

    private NatMapping probe(int altPort) throws Exception {
        CompletableFuture<NatMapping> got = new CompletableFuture<>();
        MappingProbe.start(stack, through, server.stunAddress(), altPort, got::complete);
        return got.get(15, TimeUnit.SECONDS);
    }

    @Test
    void withoutANatBothPortsSeeTheSameAddress() throws Exception {
        assertEquals(NatMapping.SAME, probe(server.stunAltAddress().getPort()));
    }

    @Test
    void aMappingPerDestinationIsSeenAsVaries() throws Exception {
        try (Forwarder nat = new Forwarder(server.stunAltAddress())) {
            assertEquals(NatMapping.VARIES, probe(nat.port()));
        }
    }

    @Test
    void aSecondPortThatNeverAnswersLeavesItUnknown() throws Exception {
        int dead;
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            dead = s.getLocalPort();
        }
        long start = System.nanoTime();
        assertEquals(NatMapping.UNKNOWN, probe(dead));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(true, millis < 10_000, "bounded retransmissions: " + millis + " ms");
    }

    /**
     * A one-client NAT for one destination: what reaches its port is sent on from a socket of its
     * own (another address for the server), and the answers come back from its port.
     */
    private static final class Forwarder implements AutoCloseable {
        private final DatagramSocket outside;
        private final DatagramSocket inside;
        private volatile SocketAddress client;

        Forwarder(InetSocketAddress to) throws SocketException {
            inside = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            outside = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            pump(inside, () -> to, true);
            pump(outside, () -> client, false);
        }

        int port() {
            return inside.getLocalPort();
        }

        private void pump(
                DatagramSocket from,
                java.util.function.Supplier<SocketAddress> to,
                boolean fromClient) {
            Thread t =
                    new Thread(
                            () -> {
                                byte[] buf = new byte[2048];
                                while (!from.isClosed()) {
                                    try {
                                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                                        from.receive(p);
                                        if (fromClient) client = p.getSocketAddress();
                                        SocketAddress dest = to.get();
                                        if (dest == null) continue;
                                        (fromClient ? outside : inside)
                                                .send(
                                                        new DatagramPacket(
                                                                p.getData(), p.getLength(), dest));
                                    } catch (Exception e) {
                                        return; // closed
                                    }
                                }
                            },
                            "forwarder");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() {
            inside.close();
            outside.close();
        }
    }
}
