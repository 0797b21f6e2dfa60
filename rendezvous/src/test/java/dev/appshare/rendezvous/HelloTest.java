package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code HELLO v=2}, {@code appshare doctor}'s question, on a real server: answered once with the
 * relay and both STUN ports, then closed; anywhere but first, or with another version, it is a bad
 * request.
 */
class HelloTest {
    private static EventLoopGroup group;
    private RendezvousServer server;

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
        cfg.relayAdvertised = ":7777";
        server = ControlClient.startServer(cfg, group);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void helloIsAnsweredWithTheRelayAndBothStunPortsThenClosed() throws Exception {
        try (ControlClient c = new ControlClient(server.localAddress().getPort())) {
            c.send("HELLO v=2");
            String welcome = c.read();
            assertTrue(welcome.startsWith("WELCOME "), welcome);
            assertEquals("2", ControlClient.field(welcome, "v"));
            assertEquals(":7777", ControlClient.field(welcome, "relay"));
            assertEquals(
                    String.valueOf(server.stunAddress().getPort()),
                    ControlClient.field(welcome, "stun"));
            assertEquals(
                    String.valueOf(server.stunAltAddress().getPort()),
                    ControlClient.field(welcome, "alt"));
            assertTrue(c.closedWithin(2_000), "closed after WELCOME");
        }
    }

    @Test
    void helloWithAnotherVersionIsABadRequest() throws Exception {
        try (ControlClient c = new ControlClient(server.localAddress().getPort())) {
            c.send("HELLO v=3");
            String error = c.read();
            assertEquals("bad-request", ControlClient.field(error, "code"), error);
            assertTrue(c.closedWithin(2_000));
        }
    }

    @Test
    void helloAfterConnectIsABadRequest() throws Exception {
        try (ControlClient c = new ControlClient(server.localAddress().getPort())) {
            c.send(ControlClient.connectLine("no-such-share"));
            assertEquals("unknown-name", ControlClient.field(c.read(), "code"));
            c.send("HELLO v=2");
            assertEquals("bad-request", ControlClient.field(c.read(), "code"));
            assertTrue(c.closedWithin(2_000));
        }
    }
}
