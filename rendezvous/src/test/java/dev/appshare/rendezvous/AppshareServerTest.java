package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.AppshareServer.ListenFailure;
import dev.appshare.rendezvous.AppshareServer.Options;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The whole server on loopback: what it binds, what it advertises, and what a failure leaves. */
class AppshareServerTest {
    private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);
    private static EventLoopGroup group;
    private final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Port 0 for TCP; the UDP port of that number may be taken (rarely): try again. */
    private AppshareServer start(Options o) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return AppshareServer.start(o, tokens, group);
            } catch (ListenFailure f) {
                if (f.relay() || attempt >= 10) throw f;
            }
        }
    }

    @Test
    void embedsARelayAndHandsPeersItsPort() throws Exception {
        try (AppshareServer s = start(Options.of(ANY_PORT))) {
            int relayPort = s.relay().localAddress().getPort();
            assertEquals(":" + relayPort, s.relayAdvertised());
            assertEquals(
                    s.rendezvous().localAddress().getPort(),
                    s.rendezvous().stunAddress().getPort());
            // A connector is handed that relay, and the relay is there.
            int port = s.rendezvous().localAddress().getPort();
            try (ControlClient share = new ControlClient(port);
                    ControlClient connector = new ControlClient(port)) {
                String registered = share.register(ControlClient.newKey(), null);
                assertTrue(registered.startsWith("REGISTERED name="), registered);
                connector.send(ControlClient.connectLine(ControlClient.field(registered, "name")));
                String accepted = connector.read();
                assertTrue(
                        accepted.endsWith(
                                " relay=:"
                                        + relayPort
                                        + " alt="
                                        + s.rendezvous().stunAltAddress().getPort()),
                        accepted);
            }
            new Socket("127.0.0.1", relayPort).close();
        }
    }

    @Test
    void advertisesThePublicHostOrAnExternalRelay() throws Exception {
        try (AppshareServer s = start(Options.of(ANY_PORT).withPublicHost("relay.example"))) {
            assertEquals(
                    "relay.example:" + s.relay().localAddress().getPort(), s.relayAdvertised());
        }
        try (AppshareServer s = start(Options.of(ANY_PORT).withExternalRelay("10.0.0.9:7001"))) {
            assertNull(s.relay(), "no relay embedded");
            assertEquals("10.0.0.9:7001", s.relayAdvertised());
        }
    }

    @Test
    void saysWhichPartCouldNotListenAndLeavesNothingBound() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, ANY_PORT.getAddress())) {
            InetSocketAddress busy = (InetSocketAddress) taken.getLocalSocketAddress();

            ListenFailure relay =
                    assertThrows(
                            ListenFailure.class,
                            () ->
                                    AppshareServer.start(
                                            Options.of(ANY_PORT).withRelayListen(busy),
                                            tokens,
                                            group));
            assertTrue(relay.relay());
            assertEquals(busy, relay.address());

            try (ServerSocket probe = new ServerSocket(0, 1, ANY_PORT.getAddress())) {
                InetSocketAddress relayAddr = (InetSocketAddress) probe.getLocalSocketAddress();
                probe.close();
                ListenFailure rendezvous =
                        assertThrows(
                                ListenFailure.class,
                                () ->
                                        AppshareServer.start(
                                                Options.of(busy).withRelayListen(relayAddr),
                                                tokens,
                                                group));
                assertFalse(rendezvous.relay());
                assertTrue(rendezvous.getMessage().contains("in use"), rendezvous.getMessage());
                // The relay that had started was closed again.
                assertClosed(relayAddr.getPort());
            }
        }
    }

    @Test
    void closeClosesBoth() throws Exception {
        AppshareServer s = start(Options.of(ANY_PORT));
        int rendezvousPort = s.rendezvous().localAddress().getPort();
        int relayPort = s.relay().localAddress().getPort();
        s.close();
        assertClosed(rendezvousPort);
        assertClosed(relayPort);
    }

    /**
     * Waits until nothing listens on {@code port}. NIO releases a closed server socket that was
     * registered with a selector only when its event loop next selects, so it may accept a moment
     * longer.
     */
    private static void assertClosed(int port) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                Thread.sleep(20);
            } catch (ConnectException refused) {
                return;
            }
        }
        throw new AssertionError("port " + port + " still accepts connections");
    }
}
