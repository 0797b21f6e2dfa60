package dev.appshare.rendezvous;

import static dev.appshare.rendezvous.ControlClient.connectLine;
import static dev.appshare.rendezvous.ControlClient.field;
import static dev.appshare.rendezvous.ControlClient.newKey;
import static dev.appshare.rendezvous.ControlClient.proveLine;
import static dev.appshare.rendezvous.ControlClient.registerLine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who holds a name, over real sockets on loopback: a share proves its key (REGISTER key=, the
 * server's CHALLENGE, PROVE sig=), the name is held for that key while the share is connected and
 * reserved for it for {@link RendezvousProtocol#NAME_RESERVATION_MILLIS} after it left (the
 * server's clock is the test's), and a reservation holds its address's live-share budget slot.
 */
class RegistrationTest {
    private static final long RESERVATION_NANOS =
            TimeUnit.MILLISECONDS.toNanos(RendezvousProtocol.NAME_RESERVATION_MILLIS);

    private static EventLoopGroup group;
    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private RendezvousServer server;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(2);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    private void start() throws Exception {
        start(ClientLimits.defaults(), ShareRegistry.MAX_RESERVATIONS);
    }

    private void start(ClientLimits limits, int maxReservations) throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.limits = limits;
        cfg.maxReservations = maxReservations;
        cfg.nanoTime = now::get;
        server = ControlClient.startServer(cfg, group);
    }

    private ControlClient client() throws Exception {
        return new ControlClient(server.localAddress().getPort());
    }

    private ControlClient client(String from) throws Exception {
        return new ControlClient(from, server.localAddress().getPort());
    }

    /** Reads an ERROR with this code, then the server's close. */
    private static void assertErrorAndClose(ControlClient c, String code) throws Exception {
        String m = c.read();
        assertTrue(m.startsWith("ERROR code=" + code + " "), m);
        assertTrue(c.closedWithin(5_000), "closed after " + m);
    }

    // --- ownership ---

    @Test
    void aProveWithAWrongSignatureIsABadRequestAndRegistersNothing() throws Exception {
        start();
        KeyPair key = newKey();
        try (ControlClient c = client()) {
            String challenge = c.sendRegister(key, "my-app");
            c.send(proveLine(newKey(), field(challenge, "nonce"))); // another key's signature
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient c = client()) {
            c.sendRegister(key, "my-app");
            c.send(proveLine(key, "00".repeat(32))); // the right key, another challenge
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient c = client()) {
            c.sendRegister(key, "my-app");
            c.send("PROVE sig=" + "A".repeat(70)); // not a signature at all
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        assertNull(server.registry().lookup("my-app"));
        assertFalse(server.registry().isReserved("my-app"));
        try (ControlClient c = client()) {
            assertEquals("REGISTERED name=my-app", c.register(newKey(), "my-app"), "still free");
        }
    }

    @Test
    void anUnknownNameOfAFrameIsAnsweredAndARawEqualsSignIsABadRequest() throws Exception {
        start();
        try (ControlClient connector = client()) {
            // A name as long as a frame allows: the answer must not echo it (it would not fit).
            String huge = "x".repeat(RendezvousFrames.MAX_FRAME - 40);
            connector.send(connectLine(huge));
            String answer = connector.read();
            assertTrue(answer.startsWith("ERROR code=unknown-name "), answer);
            assertTrue(answer.length() < 200, answer);
        }
        try (ControlClient connector = client()) {
            // Raw '=' in a value would grow threefold when passed on: refused at once.
            connector.send("CONNECT v=2 name=a=b");
            assertErrorAndClose(connector, RendezvousProtocol.E_BAD_REQUEST);
        }
    }

    @Test
    void aProveWithoutARegisterIsABadRequest() throws Exception {
        start();
        try (ControlClient c = client()) {
            c.send(proveLine(newKey(), "00".repeat(32)));
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient connector = client()) {
            connector.send(connectLine("no-such-app"));
            assertTrue(connector.read().startsWith("ERROR code=unknown-name "));
            connector.send(proveLine(newKey(), "00".repeat(32)));
            assertErrorAndClose(connector, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient twice = client()) {
            KeyPair key = newKey();
            String challenge = twice.sendRegister(key, null);
            assertTrue(twice.prove(key, challenge).startsWith("REGISTERED "));
            // A registered share proves again, even with a valid signature over its challenge.
            twice.send(proveLine(key, field(challenge, "nonce")));
            assertErrorAndClose(twice, RendezvousProtocol.E_BAD_REQUEST);
        }
    }

    @Test
    void aRegisterTwiceIsABadRequest() throws Exception {
        start();
        KeyPair key = newKey();
        try (ControlClient c = client()) {
            assertTrue(c.sendRegister(key, "my-app").startsWith("CHALLENGE nonce="));
            c.send(registerLine(key, "my-app")); // before PROVE
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient c = client()) {
            assertEquals("REGISTERED name=my-app", c.register(key, "my-app"));
            c.send(registerLine(key, "other-app")); // after REGISTERED
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
        }
        try (ControlClient connector = client()) {
            connector.send(connectLine("no-such-app"));
            assertTrue(connector.read().startsWith("ERROR code=unknown-name "));
            connector.send(registerLine(key, null)); // a connector is not a share
            assertErrorAndClose(connector, RendezvousProtocol.E_BAD_REQUEST);
        }
    }

    @Test
    void aRegisterWithAKeyThatIsNotP256OrAnOldVersionIsRefused() throws Exception {
        start();
        KeyPairGenerator p384 = KeyPairGenerator.getInstance("EC");
        p384.initialize(new ECGenParameterSpec("secp384r1"));
        String notP256 =
                Base64.getUrlEncoder()
                        .withoutPadding()
                        .encodeToString(p384.generateKeyPair().getPublic().getEncoded());
        String p256 = RegistrationProof.encodeKey(newKey().getPublic());
        for (String line :
                new String[] {
                    "REGISTER v=2 key=" + notP256,
                    "REGISTER v=2 key=" + p256.substring(0, p256.length() - 4),
                    "REGISTER v=2",
                    "REGISTER v=1 key=" + p256,
                    "REGISTER v=1 fp=" + "ab".repeat(32) + " owner=" + "0f".repeat(16)
                }) {
            try (ControlClient c = client()) {
                c.send(line);
                assertErrorAndClose(c, RendezvousProtocol.E_BAD_REQUEST);
            }
        }
        try (ControlClient c = client()) {
            c.send("REGISTER v=2 key=" + p256 + " name=Bad_Name");
            assertErrorAndClose(c, RendezvousProtocol.E_BAD_NAME);
        }
    }

    @Test
    void aRegisterThatIsNeverProvenTimesOutAndHoldsNoName() throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.handshakeTimeoutMillis = 300;
        server = ControlClient.startServer(cfg, group);
        try (ControlClient c = client()) {
            assertTrue(c.sendRegister(newKey(), "slow-app").startsWith("CHALLENGE "));
            assertErrorAndClose(c, RendezvousProtocol.E_TIMEOUT);
        }
        assertFalse(server.registry().isReserved("slow-app"));
        try (ControlClient c = client()) {
            assertEquals("REGISTERED name=slow-app", c.register(newKey(), "slow-app"));
        }
    }

    @Test
    void anotherKeyAskingForALiveNameGetsNameTakenAndTheShareStays() throws Exception {
        start();
        try (ControlClient share = client();
                ControlClient squatter = client();
                ControlClient connector = client()) {
            assertEquals("REGISTERED name=my-app", share.register(newKey(), "my-app"));
            assertNameTaken(squatter, newKey(), "my-app");

            share.send("PING");
            assertEquals("PONG", share.read(), "the share keeps its connection");
            connector.send(connectLine("my-app"));
            assertTrue(connector.read().startsWith("ACCEPTED "));
            assertTrue(share.read().startsWith("INCOMING "), "and its name");
        }
    }

    /** Registers on {@code c} and expects name-taken, then the close. */
    private static void assertNameTaken(ControlClient c, KeyPair key, String name)
            throws Exception {
        String answer = c.register(key, name);
        assertTrue(answer.startsWith("ERROR code=name-taken "), answer);
        assertTrue(c.closedWithin(5_000), "closed after " + answer);
    }

    @Test
    void theSameKeyOnANewConnectionTakesItsNameBackAndTheOldConnectionIsClosed() throws Exception {
        start();
        KeyPair key = newKey();
        try (ControlClient old = client();
                ControlClient connector = client();
                ControlClient fresh = client();
                ControlClient later = client()) {
            assertEquals("REGISTERED name=my-app", old.register(key, "my-app"));
            connector.send(connectLine("my-app"));
            String session = field(connector.read(), "session");

            // The share reconnected (its old connection looks alive to the server): same key.
            assertEquals("REGISTERED name=my-app", fresh.register(key, "my-app"));
            assertTrue(old.drainedUntilClosedWithin(5_000), "the old connection is closed");
            assertEquals("GONE session=" + session, connector.read(), "its sessions ended");

            later.send(connectLine("my-app"));
            assertTrue(later.read().startsWith("ACCEPTED "));
            assertTrue(fresh.read().startsWith("INCOMING "), "the name leads to the new one");
            assertFalse(server.registry().isReserved("my-app"));
        }
    }

    // --- reservation ---

    @Test
    void aLeftSharesNameIsReservedForItsKeyUntilTheReservationEnds() throws Exception {
        start();
        KeyPair owner = newKey();
        try (ControlClient share = client()) {
            assertEquals("REGISTERED name=res-app", share.register(owner, "res-app"));
        }
        await(() -> server.registry().isReserved("res-app"), "res-app reserved");

        try (ControlClient connector = client()) {
            connector.send(connectLine("res-app"));
            assertTrue(
                    connector.read().startsWith("ERROR code=unknown-name "),
                    "a reserved name leads nowhere");
        }
        now.addAndGet(RESERVATION_NANOS - TimeUnit.MILLISECONDS.toNanos(1));
        try (ControlClient squatter = client()) {
            assertNameTaken(squatter, newKey(), "res-app");
        }
        try (ControlClient back = client()) {
            assertEquals(
                    "REGISTERED name=res-app",
                    back.register(owner, "res-app"),
                    "the owner's key takes it back");
            assertFalse(server.registry().isReserved("res-app"));
        }
        await(() -> server.registry().isReserved("res-app"), "reserved again");

        now.addAndGet(RESERVATION_NANOS);
        try (ControlClient anyone = client()) {
            assertEquals(
                    "REGISTERED name=res-app",
                    anyone.register(newKey(), "res-app"),
                    "an expired reservation frees the name");
        }
    }

    @Test
    void aReservationHoldsItsAddressesShareSlotUntilItEnds() throws Exception {
        start(new ClientLimits(1000, 100, 10, 20, 2, 10, 2), ShareRegistry.MAX_RESERVATIONS);
        String from = "127.0.0.20";
        KeyPair owner = newKey();
        try (ControlClient kept = client(from)) {
            assertTrue(kept.register(newKey(), null).startsWith("REGISTERED "));
            try (ControlClient leaving = client(from)) {
                assertEquals("REGISTERED name=slot-app", leaving.register(owner, "slot-app"));
            }
            await(() -> server.registry().isReserved("slot-app"), "slot-app reserved");
            try (ControlClient third = client(from)) {
                String answer = third.register(newKey(), null);
                assertTrue(answer.startsWith("ERROR code=busy "), "the reservation holds a slot");
            }
            try (ControlClient elsewhere = client("127.0.0.21")) {
                assertTrue(elsewhere.register(newKey(), null).startsWith("REGISTERED "));
            }

            // The owner comes back from the same address, which is at its budget: it gets its
            // name back (the reservation's slot is its own).
            try (ControlClient back = client(from)) {
                assertEquals("REGISTERED name=slot-app", back.register(owner, "slot-app"));
                // ... also while its previous connection still looks alive.
                try (ControlClient again = client(from)) {
                    assertEquals("REGISTERED name=slot-app", again.register(owner, "slot-app"));
                    assertTrue(back.drainedUntilClosedWithin(5_000));
                }
            }
            await(() -> server.registry().isReserved("slot-app"), "reserved again");

            // Past the reservation the slot is free, even with nothing else in between.
            now.addAndGet(RESERVATION_NANOS);
            try (ControlClient fourth = client(from)) {
                assertTrue(fourth.register(newKey(), null).startsWith("REGISTERED "));
            }
        }
    }

    @Test
    void reservationsAreBoundedAndOnePastTheBoundFreesNameAndSlotAtOnce() throws Exception {
        start(new ClientLimits(1000, 100, 10, 20, 2, 10, 3), 2);
        String from = "127.0.0.30";
        for (String name : new String[] {"app-0", "app-1", "app-2"}) {
            try (ControlClient c = client(from)) {
                assertEquals("REGISTERED name=" + name, c.register(newKey(), name));
            }
            await(() -> server.registry().lookup(name) == null, name + " left");
        }
        assertTrue(server.registry().isReserved("app-0"));
        assertTrue(server.registry().isReserved("app-1"));
        assertFalse(server.registry().isReserved("app-2"), "past the bound of 2");
        try (ControlClient c = client(from)) {
            assertEquals(
                    "REGISTERED name=app-2",
                    c.register(newKey(), "app-2"),
                    "its name and its slot (two of three are reserved) are free");
        }
        try (ControlClient c = client(from)) {
            assertNameTaken(c, newKey(), "app-0");
        }
    }

    private static void await(BooleanSupplier done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(5);
        }
    }
}
