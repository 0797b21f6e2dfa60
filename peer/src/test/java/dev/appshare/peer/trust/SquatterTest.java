package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.NAME_RESERVATION_MILLIS;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.REGISTER;
import static dev.appshare.wire.rendezvous.RendezvousProtocol.REGISTERED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import io.netty.util.concurrent.Future;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Squatters on a share's number: another share (another key) that asks for the number with --name
 * while the real share is away. (a) The real share's control connection drops: its name stays
 * reserved for its key, the squatter gets name-taken, the real share gets the name back. (b) The
 * server restarts and forgets everything: the squatter registers the number first; connectors that
 * were waiting reach it, its PAKE fails, they say another share holds the number and keep waiting,
 * and no byte reaches the squatter's service; the real share keeps asking for its number, gets it
 * when the squatter has left (and the squatter's own reservation ended), and the waiting
 * connector's tunnel comes up to it.
 */
class SquatterTest {
    static final String TAKEN = "is held or reserved for another share";

    @Test
    void aSquatterCannotTakeTheNameOfAShareThatIsReconnecting() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                CountingEcho squatterService = new CountingEcho();
                ControlProxy proxy =
                        new ControlProxy(lab.server(), null, ControlProxy.TRANSPARENT)) {
            Sharer share =
                    lab.sharer(
                            proxy.address(),
                            service.port(),
                            null,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            String code = share.start().get(20, TimeUnit.SECONDS);
            String number = ShareCode.parse(code).name();

            // the share's control connection drops, and it cannot reach the rendezvous for now
            proxy.refusing = true;
            proxy.dropAll();
            assertTrue(
                    Services.eventually(
                            5_000, () -> lab.rendezvous.registry().lookup(number) == null));

            // a squatter with another key asks for the number at once: name-taken, and it waits
            Lines squatterLines = new Lines();
            Sharer squatter =
                    lab.sharer(
                            lab.server(),
                            squatterService.port(),
                            number,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            squatterLines);
            Future<String> squatted = squatter.start();
            Services.eventually(10_000, () -> squatted.isDone() || squatterLines.has(TAKEN));
            assertFalse(squatted.isDone(), "the squatter registered: " + squatter.name());
            squatterLines.await("The name " + number + " " + TAKEN, 1_000);
            assertTrue(lab.rendezvous.registry().isReserved(number));

            // the share comes back and gets its name
            proxy.refusing = false;
            assertTrue(
                    Services.eventually(20_000, () -> registeredAgain(proxy, number)),
                    "the share did not get its name back");
            assertEquals(code, share.name());
            assertFalse(squatted.isDone(), "the squatter registered: " + squatter.name());
            assertNull(squatter.name());

            // a connector gets through to the real share
            Connector c = lab.relayConnector(lab.server(), code);
            c.start().get(20, TimeUnit.SECONDS);
            byte[] data = Services.random(256 << 10);
            assertArrayEquals(data, Services.roundTrip(c.localAddress(), data));
            assertEquals(0, squatterService.accepted.get());
        }
    }

    @Test
    void afterARestartASquatterHoldsTheNumberButGetsNothingAndTheShareGetsItBack()
            throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                CountingEcho squatterService = new CountingEcho();
                StderrCapture log = new StderrCapture();
                ControlProxy proxy =
                        new ControlProxy(lab.server(), null, ControlProxy.TRANSPARENT)) {
            Lines shareLines = new Lines();
            Sharer share =
                    lab.sharer(
                            proxy.address(),
                            service.port(),
                            null,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            shareLines);
            String code = share.start().get(20, TimeUnit.SECONDS);
            String number = ShareCode.parse(code).name();
            Connector c = lab.relayConnector(lab.server(), code);
            c.start().get(20, TimeUnit.SECONDS);
            byte[] first = Services.random(64 << 10);
            assertArrayEquals(first, Services.roundTrip(c.localAddress(), first));

            // the server restarts; the share cannot reach it at first, and a squatter registers
            // the number
            proxy.refusing = true;
            proxy.dropAll();
            lab.restartServer();
            Sharer squatter =
                    lab.sharer(
                            lab.server(),
                            squatterService.port(),
                            number,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            String squatterCode = squatter.start().get(20, TimeUnit.SECONDS);
            assertEquals(number, ShareCode.parse(squatterCode).name());
            assertNotEquals(
                    ShareCode.parse(code).password(),
                    ShareCode.parse(squatterCode).password(),
                    "the squatter drew the same words (one chance in 2^19)");
            int linksBefore = proxy.links.size();
            proxy.refusing = false;
            // an application connects meanwhile: its bytes wait for a tunnel
            try (Socket app = MaliciousRendezvousTest.waitingApplication(c)) {
                // the waiting connector reaches the squatter, whose PAKE fails; it keeps waiting
                String wrong =
                        "does not know the code (another share took the number?); waiting for the"
                                + " real one";
                Services.eventually(
                        30_000,
                        () -> log.text().contains(wrong) || squatterService.accepted.get() > 0);
                Thread.sleep(500); // anything in flight would land by now
                assertEquals(0, squatterService.accepted.get(), "the squatter's service");
                assertTrue(log.text().contains(wrong), "the connector's log");
                // the connector ended the session without its own confirmation: the squatter
                // has no tag to test a guess against
                assertTrue(log.text().contains("a connector left without proving the code"));
                // the real share is told the number is taken, and keeps asking
                shareLines.await("The name " + number + " " + TAKEN, 20_000);
                assertTrue(
                        Services.eventually(
                                20_000, () -> registerAttempts(proxy, linksBefore) >= 2),
                        "the share asked " + registerAttempts(proxy, linksBefore) + " times");

                // the squatter leaves; its own reservation ends (the server's clock moves past
                // it); the real share gets its number back
                squatter.close();
                assertTrue(
                        Services.eventually(
                                5_000, () -> lab.rendezvous.registry().isReserved(number)));
                lab.advanceClock(NAME_RESERVATION_MILLIS + 1_000);
                assertTrue(
                        Services.eventually(20_000, () -> registeredAgain(proxy, number)),
                        "the share did not get its number back");
                assertEquals(code, share.name());

                // the waiting connector's tunnel comes up to the real share
                assertTrue(
                        Services.eventually(
                                60_000,
                                () -> log.text().contains(number + " is back; tunnel up again")),
                        "the connector's log");
                byte[] data = Services.random(1 << 20);
                assertEquals(
                        Services.sha256(data),
                        Services.sha256(Services.roundTrip(c.localAddress(), data)));
                assertEquals(0, squatterService.accepted.get(), "the squatter's service");
                assertEquals(0, squatterService.bytes.get());
            }
        }
    }

    /** Whether the rendezvous registered {@code name} again on a connection after the first. */
    static boolean registeredAgain(ControlProxy proxy, String name) {
        List<ControlProxy.Link> links = proxy.links;
        return links.stream()
                .skip(1)
                .anyMatch(
                        l ->
                                l.fromServer.stream()
                                        .anyMatch(
                                                m ->
                                                        m.type().equals(REGISTERED)
                                                                && name.equals(m.get("name"))));
    }

    /** REGISTERs the share sent on connections made from the {@code from}-th on. */
    static long registerAttempts(ControlProxy proxy, int from) {
        return proxy.links.stream()
                .skip(from)
                .filter(l -> l.fromPeer.stream().anyMatch(m -> m.type().equals(REGISTER)))
                .count();
    }
}
