package dev.appshare.peer.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import dev.appshare.rendezvous.ClientLimits;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A share that the rendezvous finds over a budget of its address (a REGISTER spends a look-up; live
 * shares per address) says so once and keeps asking, as for a taken name: it registers once the
 * budget refills. It used to end (exit 1), and a share already registered ended on a reconnect that
 * came too soon, e.g. every share behind one NAT after a server restart.
 */
class BusyRendezvousTest {

    @Test
    void aShareTheRendezvousFindsBusyKeepsAskingAndRegistersOnceTheBudgetRefills()
            throws Exception {
        // One look-up a second and no burst for the lab's one address.
        ClientLimits tight = new ClientLimits(1_000, 1_000, 1, 1, 1_000, 1_000, 1_000);
        try (TrustLab lab = new TrustLab(null, 5_000, tight);
                CountingEcho service = new CountingEcho()) {
            Sharer first =
                    lab.sharer(
                            lab.server(),
                            service.port(),
                            null,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            String firstCode = first.start().get(20, TimeUnit.SECONDS);
            // Shares started right after it find the budget spent. (A machine so slow that one
            // registers a second later finds it refilled: the next one is started at once.)
            for (int attempt = 0; attempt < 5; attempt++) {
                Lines lines = new Lines();
                Sharer next =
                        lab.sharer(
                                lab.server(),
                                service.port(),
                                null,
                                GuessLimit.Limits.DEFAULTS,
                                TrustLab.paths(Transport.RELAY, null),
                                lines);
                Future<String> registered = next.start();
                Services.eventually(
                        10_000,
                        () ->
                                registered.isDone()
                                        || lines.has("The rendezvous cannot take this share now"));
                if (!lines.has("The rendezvous cannot take this share now")) continue;
                String code = registered.get(30, TimeUnit.SECONDS);
                assertFalse(code.equals(firstCode), code);
                assertEquals(
                        1,
                        lines.lines.stream()
                                .filter(l -> l.contains("cannot take this share now"))
                                .count(),
                        "said once: " + lines.lines);
                return;
            }
            throw new AssertionError("no share found the rendezvous busy in 5 tries");
        }
    }
}
