package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.ControlProxy.Link;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A rendezvous that lies: a proxy of the control protocol between the peers and a real server that
 * (a) runs its own PAKE with each side, claiming its own TLS key, with a guessed password; (b)
 * sends a connector to the attacker's own share (registered under another name, with other words)
 * by rewriting CONNECT's name; (c) sends the connector's relay leg to the attacker's share by
 * rewriting the relay token, or drops the PAKE. The connector must refuse (a wrong code before any
 * tunnel is the one-line PeerException, exit 2) or keep trying, the shares must log the failed
 * attempt, and not one byte of either shared service may cross: each is a TCP service here that
 * counts its connections and bytes.
 */
class MaliciousRendezvousTest {
    /** What a local application sends into the connector while the attack runs. */
    static final byte[] SECRET = "GET /secret HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * (a) The middle answers each peer's PAKE itself: as the share to the connector, as a connector
     * to the share, each time claiming the attacker's TLS key, with the same guessed password. It
     * cannot confirm either exchange without the code: the connector exits with the clear message,
     * the share logs a wrong code and opens nothing, and the session's relay token leads nowhere.
     */
    @Test
    void aMiddleRunningItsOwnPakeWithEachSideConfirmsNeither() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                StderrCapture log = new StderrCapture()) {
            Mitm mitm = new Mitm();
            try (ControlProxy proxy = new ControlProxy(lab.server(), null, mitm)) {
                Sharer share =
                        lab.sharer(
                                proxy.address(),
                                service.port(),
                                null,
                                GuessLimit.Limits.DEFAULTS,
                                TrustLab.paths(Transport.RELAY, null),
                                new Lines());
                String code = share.start().get(20, TimeUnit.SECONDS);
                mitm.guess = Services.otherPassword(ShareCode.parse(code).password());
                Connector connector = lab.relayConnector(proxy.address(), code);
                Future<Void> first = connector.start();
                try (Socket app = waitingApplication(connector)) {
                    PeerException refused = refusal(first);
                    assertEquals(2, refused.exitCode());
                    assertTrue(
                            refused.getMessage().contains("did not accept the code " + code),
                            refused.getMessage());
                    assertEquals(1, refused.getMessage().lines().count());

                    // the middle ran both exchanges: the real share's confirmation failed its
                    // guess, and the connector never sent it a confirmation to test one against
                    assertTrue(
                            Services.eventually(5_000, () -> mitm.failedWrongCode.get() == 1),
                            "wrong-code failures in the middle: " + mitm.failedWrongCode);
                    assertEquals(0, mitm.confirmed.get());
                    assertEquals(0, mitm.connectorConfirmations.get(), "the connector's tag");
                    // the real share logged the failed attempt and proved nobody
                    assertTrue(
                            Services.eventually(
                                    5_000, () -> log.text().contains("did not prove the code")),
                            "the share's log: " + log.text());
                    assertFalse(log.text().contains("the connector proved the code"));

                    // the attacker tries the session's relay token: no share dialled it
                    assertNotNull(mitm.token);
                    String relay = dialRelay(lab.relayAddress(), mitm.token);
                    assertNotEquals("OK", relay, "the attacker was paired with someone");
                    assertEquals(0, service.accepted.get(), "connections to the shared service");
                    assertEquals(0, service.bytes.get());
                }
            }
        }
    }

    /**
     * (b) The middle rewrites CONNECT's name to the attacker's own share, whose code has other
     * words: its PAKE fails, the connector exits with the clear message, the attacker's share logs
     * the wrong code, and the victim's application bytes reach neither service.
     */
    @Test
    void aConnectorSentToTheAttackersShareRefusesIt() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                CountingEcho attackerService = new CountingEcho();
                StderrCapture log = new StderrCapture()) {
            Sharer attacker =
                    lab.sharer(
                            lab.server(),
                            attackerService.port(),
                            "attacker",
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            String attackerCode = attacker.start().get(20, TimeUnit.SECONDS);
            Redirect redirect = new Redirect(ShareCode.parse(attackerCode).name());
            try (ControlProxy proxy = new ControlProxy(lab.server(), null, redirect)) {
                Sharer share =
                        lab.sharer(
                                proxy.address(),
                                service.port(),
                                null,
                                GuessLimit.Limits.DEFAULTS,
                                TrustLab.paths(Transport.RELAY, null),
                                new Lines());
                String code = share.start().get(20, TimeUnit.SECONDS);
                assertNotEquals(
                        ShareCode.parse(attackerCode).password(),
                        ShareCode.parse(code).password(),
                        "the attacker's share drew the same words (one chance in 2^19)");
                Connector connector = lab.relayConnector(proxy.address(), code);
                Future<Void> first = connector.start();
                try (Socket app = waitingApplication(connector)) {
                    first.await(30, TimeUnit.SECONDS);
                    Thread.sleep(500); // anything in flight would land by now
                    assertEquals(
                            0,
                            attackerService.accepted.get(),
                            "the victim's application reached the attacker's service");
                    assertEquals(0, attackerService.bytes.get());
                    assertEquals(0, service.accepted.get());
                    PeerException refused = refusal(first);
                    assertEquals(2, refused.exitCode());
                    assertTrue(
                            refused.getMessage().contains("did not accept the code"),
                            refused.getMessage());
                    assertTrue(redirect.rewritten.get() >= 1, "the CONNECT was redirected");
                    assertTrue(
                            Services.eventually(
                                    5_000,
                                    () ->
                                            log.text()
                                                    .contains(
                                                            "a connector left without proving the"
                                                                    + " code")),
                            "the attacker's share's log: " + log.text());
                    assertFalse(log.text().contains("the connector proved the code"));
                }
            }
        }
    }

    /**
     * (c) The middle passes the PAKE between the real peers (it cannot forge it) but gives the
     * connector a relay token of its own: the first time one where the attacker's share waits (the
     * attacker proved its own share's code to get it), then forged ones. The connector's QUIC
     * handshake pins the key the PAKE confirmed, so the attacker's share is refused; the connector
     * keeps asking and never gets a tunnel, and neither service sees a connection.
     */
    @Test
    void aRewrittenRelayTokenLeadsTheConnectorNowhere() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                CountingEcho attackerService = new CountingEcho()) {
            Sharer attacker =
                    lab.sharer(
                            lab.server(),
                            attackerService.port(),
                            "attacker",
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(Transport.RELAY, null),
                            new Lines());
            ShareCode attackerCode = ShareCode.parse(attacker.start().get(20, TimeUnit.SECONDS));
            TokenSwap swap = new TokenSwap(lab.server(), attackerCode);
            try (ControlProxy proxy = new ControlProxy(lab.server(), null, swap)) {
                Sharer share =
                        lab.sharer(
                                proxy.address(),
                                service.port(),
                                null,
                                GuessLimit.Limits.DEFAULTS,
                                TrustLab.paths(Transport.RELAY, null),
                                new Lines());
                String code = share.start().get(20, TimeUnit.SECONDS);
                Connector connector = lab.relayConnector(proxy.address(), code);
                Future<Void> first = connector.start();
                try (Socket app = waitingApplication(connector)) {
                    // each failed tunnel costs the connector 2 s before it asks again
                    Services.eventually(
                            30_000,
                            () ->
                                    swap.accepted.get() >= 3
                                            || first.isDone()
                                            || attackerService.accepted.get() > 0);
                    Thread.sleep(500); // anything in flight would land by now
                    assertEquals(
                            0,
                            attackerService.accepted.get(),
                            "the victim's application reached the attacker's service");
                    assertFalse(first.isDone(), "the connector got a tunnel: " + first.cause());
                    assertTrue(swap.attackerProven, "the attacker's share waited at the relay");
                    assertTrue(swap.accepted.get() >= 3, "ACCEPTEDs rewritten: " + swap.accepted);
                    assertEquals(0, service.accepted.get(), "the real service (no tunnel)");
                } finally {
                    swap.close();
                }
            }
        }
    }

    /**
     * (c) The middle drops every PAKE message: no exchange confirms, so nothing is opened; the
     * connector gives each attempt up after its deadline and asks again, for as long as it runs.
     */
    @Test
    void aMiddleThatDropsThePakeGetsTheConnectorNowhereAndItKeepsAsking() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho()) {
            AtomicInteger connects = new AtomicInteger();
            AtomicInteger dropped = new AtomicInteger();
            ControlProxy.Rules drop =
                    new ControlProxy.Rules() {
                        @Override
                        public List<RendezvousMessage> up(Link link, RendezvousMessage m) {
                            if (m.type().equals(CONNECT)) connects.incrementAndGet();
                            if (!m.type().equals(PAKE)) return List.of(m);
                            dropped.incrementAndGet();
                            return List.of();
                        }
                    };
            try (ControlProxy proxy = new ControlProxy(lab.server(), null, drop)) {
                Sharer share =
                        lab.sharer(
                                proxy.address(),
                                service.port(),
                                null,
                                GuessLimit.Limits.DEFAULTS,
                                TrustLab.paths(Transport.RELAY, null),
                                new Lines());
                String code = share.start().get(20, TimeUnit.SECONDS);
                Connector connector = lab.relayConnector(proxy.address(), code);
                Future<Void> first = connector.start();
                try (Socket app = waitingApplication(connector)) {
                    // one PAKE deadline (10 s), then the retry (2 s), then another CONNECT
                    assertTrue(
                            Services.eventually(25_000, () -> connects.get() >= 2),
                            "CONNECTs: " + connects);
                    assertTrue(dropped.get() >= 2, "PAKE messages dropped: " + dropped);
                    assertFalse(first.isDone(), "the first tunnel ended: " + first.cause());
                    assertEquals(0, service.accepted.get());
                }
            }
        }
    }

    /** A local application connected to the connector, its request waiting for the tunnel. */
    static Socket waitingApplication(Connector connector) throws IOException {
        Socket app = new Socket();
        app.connect(connector.localAddress(), 5_000);
        app.getOutputStream().write(SECRET);
        app.getOutputStream().flush();
        return app;
    }

    static PeerException refusal(Future<Void> first) {
        ExecutionException e =
                assertThrows(ExecutionException.class, () -> first.get(30, TimeUnit.SECONDS));
        return assertInstanceOf(PeerException.class, e.getCause());
    }

    /** Dials the relay with {@code token} as a peer would; its one-line answer. */
    static String dialRelay(InetSocketAddress relay, String token) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(relay, 5_000);
            s.setSoTimeout(15_000);
            s.getOutputStream()
                    .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') line.append((char) c);
            return line.toString();
        }
    }

    /** Which peer each link carries: known from its first message. */
    private static final class Roles {
        private final Map<Link, String> roles = new HashMap<>();

        synchronized String note(Link l, RendezvousMessage m) {
            if (m.type().equals(REGISTER)) roles.put(l, "share");
            else if (m.type().equals(CONNECT)) roles.put(l, "connector");
            return roles.get(l);
        }
    }

    /** (a): the middle's own PAKE with each side, its own key, a guessed password. */
    static final class Mitm implements ControlProxy.Rules {
        final String fingerprint = PeerIdentity.generate().fingerprint();
        volatile String guess;
        volatile String token;
        final AtomicInteger failedWrongCode = new AtomicInteger();
        final AtomicInteger confirmed = new AtomicInteger();
        // the connector's key confirmations the middle received: none may come, as the connector
        // confirms second, only after the share proved the code (its tag would let the middle
        // test its guess offline)
        final AtomicInteger connectorConfirmations = new AtomicInteger();
        private final Roles roles = new Roles();
        // per session: the middle's exchange with the share, and with the connector
        private final Map<String, PakeExchange> withShare = new HashMap<>();
        private final Map<String, PakeExchange> withConnector = new HashMap<>();

        @Override
        public synchronized List<RendezvousMessage> down(Link link, RendezvousMessage m) {
            String session = m.get("session");
            if (m.type().equals(INCOMING)) {
                PakeExchange p =
                        new PakeExchange(PakeExchange.Role.CONNECTOR, session, fingerprint, guess);
                withShare.put(session, p);
                return List.of(m, pake(session, 1, p.start()));
            }
            if (m.type().equals(ACCEPTED)) {
                token = m.get("token");
                PakeExchange p =
                        new PakeExchange(PakeExchange.Role.SHARE, session, fingerprint, guess);
                withConnector.put(session, p);
                return List.of(m, pake(session, 1, p.start()));
            }
            if (m.type().equals(PAKE)) return List.of(); // nothing of the peers' own PAKE passes
            // Each side's END (after its exchange with the middle failed) would reach the other
            // through the server under the same session and cut that exchange short, before its
            // confirmation: the middle holds it back and runs both exchanges to their end.
            if (m.type().equals(END)) return List.of();
            return List.of(m);
        }

        @Override
        public synchronized List<RendezvousMessage> up(Link link, RendezvousMessage m)
                throws IOException {
            String role = roles.note(link, m);
            if (m.type().equals(END)) return List.of(); // as in down
            if (!m.type().equals(PAKE)) return List.of(m);
            String session = m.get("session");
            PakeExchange p =
                    "share".equals(role) ? withShare.get(session) : withConnector.get(session);
            if (p == null || m.get("step") == null) return List.of();
            if (!"share".equals(role) && "3".equals(m.get("step")))
                connectorConfirmations.incrementAndGet();
            try {
                PakeExchange.Next next =
                        p.receive(
                                Integer.parseInt(m.get("step")), PakeMessages.bytes(m.get("data")));
                if (next.confirmed()) confirmed.incrementAndGet();
                else link.toPeer(pake(session, next.replyStep(), next.reply()));
            } catch (PakeExchange.FailedException e) {
                if (e.wrongCode()) failedWrongCode.incrementAndGet();
            } catch (PakeMessages.MalformedException e) {
                // nothing to answer
            }
            return List.of(); // swallowed: the server never sees the peers' PAKE
        }
    }

    static RendezvousMessage pake(String session, int step, byte[] data) {
        return PakeMessages.message(session, step, data);
    }

    /** (b): every CONNECT is sent to the attacker's share. */
    static final class Redirect implements ControlProxy.Rules {
        final String to;
        final AtomicInteger rewritten = new AtomicInteger();

        Redirect(String to) {
            this.to = to;
        }

        @Override
        public List<RendezvousMessage> up(Link link, RendezvousMessage m) {
            if (!m.type().equals(CONNECT)) return List.of(m);
            rewritten.incrementAndGet();
            return List.of(ControlProxy.with(m, "name", to));
        }
    }

    /**
     * (c): before passing a connector's first CONNECT on, the attacker proves its own share's code
     * on a connection of its own (so its share dials the relay with that session's token and
     * waits); the connector's ACCEPTED then carries that token, and every later one a forged token.
     */
    static final class TokenSwap implements ControlProxy.Rules {
        private final InetSocketAddress server;
        private final ShareCode attackerCode;
        private final List<RawControl> own = new ArrayList<>();
        final AtomicInteger accepted = new AtomicInteger();
        volatile boolean attackerProven;
        private String attackerToken;

        TokenSwap(InetSocketAddress server, ShareCode attackerCode) {
            this.server = server;
            this.attackerCode = attackerCode;
        }

        @Override
        public synchronized List<RendezvousMessage> up(Link link, RendezvousMessage m)
                throws IOException {
            if (m.type().equals(CONNECT) && attackerToken == null) {
                RawControl c = new RawControl(server, null);
                own.add(c);
                RawControl.Attempt a = c.attempt(attackerCode.name(), attackerCode.password());
                attackerProven = a.outcome() == RawControl.Outcome.PROVEN;
                attackerToken = a.token();
            }
            return List.of(m);
        }

        @Override
        public synchronized List<RendezvousMessage> down(Link link, RendezvousMessage m) {
            if (!m.type().equals(ACCEPTED)) return List.of(m);
            String token =
                    accepted.getAndIncrement() == 0 && attackerToken != null
                            ? attackerToken
                            : forged(m.get("token"));
            return List.of(ControlProxy.with(m, "token", token));
        }

        /** The same token with one character changed: its MAC no longer checks. */
        private static String forged(String token) {
            char[] t = token.toCharArray();
            int i = t.length / 2;
            t[i] = t[i] == 'A' ? 'B' : 'A';
            return new String(t);
        }

        synchronized void close() {
            own.forEach(RawControl::close);
        }
    }
}
