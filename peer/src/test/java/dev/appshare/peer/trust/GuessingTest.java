package dev.appshare.peer.trust;

import static dev.appshare.peer.trust.RawControl.Outcome.PROVEN;
import static dev.appshare.peer.trust.RawControl.Outcome.REFUSED_GUESSES;
import static dev.appshare.peer.trust.RawControl.Outcome.WRONG_CODE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.RawControl.Outcome;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Wrong codes and guessing: a wrong code is refused with the clear message (exit 2); a script that
 * guesses from one address is held to the share's per-address burst while a real connector from
 * another address gets through; many addresses guessing are held by the share's own limit, which
 * refuses everyone while they guess and admits again within one share interval after they stop
 * ({@link GuessLimit}'s javadoc), shortened here so the test is quick.
 */
class GuessingTest {
    /**
     * A wrong code, and codes that are not codes: each is PeerException exit 2 with one line that
     * says what is wrong; nothing reaches the shared service.
     */
    @Test
    void aWrongCodeIsRefusedWithExitTwo() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho()) {
            Sharer share = lab.share(service.port(), null, new Lines());
            String code = share.name();
            String wrong = Services.wrongCode(code);
            Connector c = lab.relayConnector(lab.server(), wrong);
            PeerException e = MaliciousRendezvousTest.refusal(c.start());
            assertEquals(2, e.exitCode());
            assertTrue(e.getMessage().contains("did not accept the code " + wrong), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
            assertEquals(0, service.accepted.get());

            String number = ShareCode.parse(code).name();
            for (String notACode :
                    List.of(number, "cheerful-" + number, "zzzzz-beaver-" + number, "")) {
                PeerException p =
                        assertThrows(
                                PeerException.class,
                                () -> lab.relayConnector(lab.server(), notACode),
                                notACode);
                assertEquals(2, p.exitCode(), notACode);
                assertTrue(p.getMessage().contains("code"), p.getMessage());
            }
        }
    }

    /**
     * A script guesses 30 times from 127.0.0.21 with raw PAKEs: the share runs the PAKE for its
     * per-address burst (3, wrong each time), then answers refused=guesses; meanwhile a real
     * connector from 127.0.0.22 gets through and carries bytes exactly.
     */
    @Test
    void oneAddressIsHeldAtItsBurstWhileAnotherGetsThrough() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                StderrCapture log = new StderrCapture();
                ControlProxy from22 =
                        new ControlProxy(
                                lab.server(),
                                RawControl.address("127.0.0.22"),
                                ControlProxy.TRANSPARENT)) {
            Sharer share = lab.share(service.port(), null, new Lines());
            ShareCode code = ShareCode.parse(share.name());
            List<Outcome> outcomes = new CopyOnWriteArrayList<>();
            AtomicBoolean guessing = new AtomicBoolean(true);
            Thread guesser =
                    new Thread(
                            () -> {
                                try (RawControl c =
                                        new RawControl(
                                                lab.server(), RawControl.address("127.0.0.21"))) {
                                    for (int i = 0; i < 30; i++) {
                                        outcomes.add(
                                                c.attempt(
                                                                code.name(),
                                                                Services.otherPassword(
                                                                        code.password()))
                                                        .outcome());
                                        Thread.sleep(200);
                                    }
                                } catch (Exception e) {
                                    outcomes.add(Outcome.OTHER);
                                } finally {
                                    guessing.set(false);
                                }
                            });
            guesser.start();
            assertTrue(Services.eventually(20_000, () -> outcomes.size() >= 4), "" + outcomes);

            Connector real = lab.relayConnector(from22.address(), code.toString());
            real.start().get(20, TimeUnit.SECONDS);
            assertTrue(guessing.get(), "the guessing was over before the connector was through");
            byte[] data = Services.random(256 << 10);
            assertArrayEquals(data, Services.roundTrip(real.localAddress(), data));

            guesser.join(30_000);
            assertEquals(30, outcomes.size(), "" + outcomes);
            assertEquals(List.of(WRONG_CODE, WRONG_CODE, WRONG_CODE), outcomes.subList(0, 3));
            assertEquals(
                    Collections.nCopies(27, REFUSED_GUESSES),
                    outcomes.subList(3, 30),
                    "after the burst");
            // one line per 10 s at most: the first wrong code's, with the rest counted
            assertTrue(log.text().contains("refused 127.0.0.21: "), "the share's log");
            assertFalse(log.text().contains("refusing new connectors"), "the share was not held");
        }
    }

    /**
     * Eight addresses guess at once against a share whose limits are shortened (per share 5, then
     * one per 3 s): the share admits no more wrong codes than its budget, refuses a fresh address
     * with the right code while they guess (and a real connector, which says so and keeps asking),
     * admits again at most one share interval after the guessing stops, and the real connector then
     * gets through.
     */
    @Test
    void manyAddressesAreHeldByTheShareAndItAdmitsAgainWithinOneInterval() throws Exception {
        long interval = TimeUnit.SECONDS.toNanos(3);
        int burst = 5;
        GuessLimit.Limits limits =
                new GuessLimit.Limits(3, TimeUnit.MINUTES.toNanos(10), burst, interval);
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                StderrCapture log = new StderrCapture();
                ControlProxy from39 =
                        new ControlProxy(
                                lab.server(),
                                RawControl.address("127.0.0.39"),
                                ControlProxy.TRANSPARENT)) {
            Sharer share =
                    lab.sharer(
                            lab.server(),
                            service.port(),
                            null,
                            limits,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            ShareCode code = ShareCode.parse(share.start().get(20, TimeUnit.SECONDS));
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger wrong = new AtomicInteger(), refused = new AtomicInteger();
            List<Thread> guessers = new ArrayList<>();
            long started = System.nanoTime();
            for (int a = 31; a <= 38; a++) {
                String from = "127.0.0." + a;
                Thread t =
                        new Thread(
                                () -> {
                                    try (RawControl c =
                                            new RawControl(
                                                    lab.server(), RawControl.address(from))) {
                                        while (!stop.get()) {
                                            Outcome o =
                                                    c.attempt(
                                                                    code.name(),
                                                                    Services.otherPassword(
                                                                            code.password()))
                                                            .outcome();
                                            if (o == WRONG_CODE) wrong.incrementAndGet();
                                            if (o == REFUSED_GUESSES) refused.incrementAndGet();
                                            Thread.sleep(50);
                                        }
                                    } catch (Exception e) {
                                        // counted as neither
                                    }
                                });
                guessers.add(t);
                t.start();
            }
            // the share's burst goes at once; then it refuses everyone
            assertTrue(
                    Services.eventually(20_000, () -> wrong.get() >= burst && refused.get() > 20),
                    "wrong " + wrong + ", refused " + refused);
            Connector real = lab.relayConnector(from39.address(), code.toString());
            Future<Void> first = real.start();
            int probesRefused = 0;
            try (RawControl probe =
                    new RawControl(lab.server(), RawControl.address("127.0.0.40"))) {
                for (int i = 0; i < 10; i++) {
                    if (probe.attempt(code.name(), code.password()).outcome() == REFUSED_GUESSES)
                        probesRefused++;
                    Thread.sleep(300);
                }
            }
            assertTrue(probesRefused >= 8, probesRefused + " of 10 right codes refused");
            assertTrue(
                    log.text().contains("the share refuses new connectors for now"),
                    "the real connector said why it waits");
            assertFalse(first.isDone());

            stop.set(true);
            for (Thread t : guessers) t.join(20_000);
            long stopped = System.nanoTime();
            long guessedNanos = stopped - started;
            // the budget: the burst, and one per interval after it (and one in flight)
            assertTrue(
                    wrong.get() <= burst + guessedNanos / interval + 1,
                    wrong + " wrong codes tried in " + guessedNanos / 1_000_000 + " ms");
            assertTrue(
                    log.text()
                            .contains("too many wrong codes were tried: refusing new connectors"));

            // after the guessing stops, a right code is admitted within one share interval
            long admittedAt = 0;
            try (RawControl probe =
                    new RawControl(lab.server(), RawControl.address("127.0.0.41"))) {
                for (int i = 0; i < 100 && admittedAt == 0; i++) {
                    long asked = System.nanoTime();
                    Outcome o = probe.attempt(code.name(), code.password()).outcome();
                    if (o == PROVEN) admittedAt = asked;
                    else assertEquals(REFUSED_GUESSES, o);
                    Thread.sleep(100);
                }
            }
            assertTrue(admittedAt != 0, "never admitted again");
            long waited = admittedAt - stopped;
            System.out.println(
                    "GuessingTest: "
                            + wrong
                            + " wrong codes tried in "
                            + guessedNanos / 1_000_000
                            + " ms, "
                            + refused
                            + " refused; a right code admitted again "
                            + waited / 1_000_000
                            + " ms after the guessing stopped");
            assertTrue(
                    waited <= interval + TimeUnit.SECONDS.toNanos(1),
                    "admitted " + waited / 1_000_000 + " ms after the guessing stopped");

            // the real connector, asking every 10 s, gets through
            first.get(30, TimeUnit.SECONDS);
            byte[] data = Services.random(256 << 10);
            assertArrayEquals(data, Services.roundTrip(real.localAddress(), data));
        }
    }
}
