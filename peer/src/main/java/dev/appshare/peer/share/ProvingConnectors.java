package dev.appshare.peer.share;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.peer.path.BirthdaySearch;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.rendezvous.RendezvousClient;
import dev.appshare.wire.net.AddressBudget;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connectors that asked for this share and have not proven its code yet. Nothing is spent on
 * one (no UDP socket, relay connection, ICE agent or QUIC server) until its PAKE confirms: then it
 * becomes a session, pinned to the TLS key the PAKE confirmed. Before the PAKE starts, the share
 * checks its own caps ({@link #MAX_PROVING} at once, {@link #MAX_PROVING_PER_ADDRESS} per source
 * address, {@link Sharer#MAX_SESSIONS} sessions) and the {@link GuessLimit}, and refuses with
 * {@code PAKE refused=}. An attempt frees its slot when it confirms, fails, times out (no step 1
 * within {@link #FIRST_STEP_TIMEOUT_MILLIS}, or not confirmed within {@link #PAKE_TIMEOUT_MILLIS}),
 * or the connector ends it (END, or leaving, which the server passes on). Wrong codes are logged at
 * most once per 10 s with a count; the share says once when it starts refusing and when it admits
 * again. State lives on the signalling event loop.
 */
public final class ProvingConnectors {
    private static final Logger log = LoggerFactory.getLogger(ProvingConnectors.class);

    /**
     * PAKEs in progress at once, at most: a PAKE costs the share only a few ms of CPU and a small
     * object, and every source address holds at most {@link #MAX_PROVING_PER_ADDRESS}, so keeping
     * them all busy takes 16 addresses.
     */
    public static final int MAX_PROVING = 32;

    /** A PAKE not confirmed within this is dropped. */
    public static final long PAKE_TIMEOUT_MILLIS = 10_000;

    /**
     * A PAKE whose connector has not sent its step 1 within this is dropped: the connector sends it
     * as soon as it has ACCEPTED, at the same time as the server sends INCOMING, so only a
     * connector that walked away (or a very slow path) misses it, and it must not hold a slot.
     */
    public static final long FIRST_STEP_TIMEOUT_MILLIS = 5_000;

    /**
     * PAKEs in progress at once per source address (IPv4 /32, IPv6 /64): two, so that connectors
     * behind one NAT rarely wait for each other (a busy share is asked again 2 s later).
     */
    public static final int MAX_PROVING_PER_ADDRESS = 2;

    /** A connector that proved the code: start its session. */
    interface Proven {
        void proven(String session, String peerFingerprint, PathCarrier.Route route);
    }

    private final class Proving {
        final String session;
        final InetAddress from;
        final PathCarrier.Route route;
        final PakeExchange pake;
        ScheduledFuture<?> deadline;
        ScheduledFuture<?> firstStep;
        boolean heard; // the connector's step 1 arrived
        boolean spent; // our confirmation went out: the attempt holds its guess tokens

        Proving(String session, InetAddress from, PathCarrier.Route route, PakeExchange pake) {
            this.session = session;
            this.from = from;
            this.route = route;
            this.pake = pake;
        }
    }

    private final RendezvousClient signalling;
    private final EventLoop loop;
    private final String fingerprint;
    private final String password;
    private final GuessLimit guesses;
    private final RejectionLog wrongCodes;
    private final RejectionLog busy;
    private final Proven proven;
    private final Map<String, Proving> proving = new HashMap<>();
    private final Map<AddressBudget.Key, Integer> provingPerAddress = new HashMap<>();
    private boolean refusing;

    ProvingConnectors(
            RendezvousClient signalling,
            String fingerprint,
            String password,
            GuessLimit.Limits limits,
            LongSupplier nanoTime,
            Proven proven) {
        this.signalling = signalling;
        this.loop = signalling.loop();
        this.fingerprint = fingerprint;
        this.password = password;
        this.guesses = new GuessLimit(limits, nanoTime);
        this.wrongCodes = new RejectionLog(log, RejectionLog.INTERVAL_NANOS, nanoTime);
        this.busy = new RejectionLog(log, RejectionLog.INTERVAL_NANOS, nanoTime);
        this.proven = proven;
    }

    GuessLimit guesses() {
        return guesses;
    }

    boolean contains(String session) {
        return proving.containsKey(session);
    }

    int size() {
        return proving.size();
    }

    /** A connector asked (INCOMING): start its PAKE, or refuse it. */
    void incoming(String session, InetAddress from, PathCarrier.Route route, int liveSessions) {
        AddressBudget.Key key = AddressBudget.Key.of(from);
        if (liveSessions + proving.size() >= Sharer.MAX_SESSIONS
                || proving.size() >= MAX_PROVING
                || provingPerAddress.getOrDefault(key, 0) >= MAX_PROVING_PER_ADDRESS) {
            busy.refused("this share is at its limit of connectors", from.getHostAddress());
            refuse(session, REFUSED_BUSY);
            return;
        }
        GuessLimit.Verdict v = guesses.check(from);
        if (v != GuessLimit.Verdict.ADMIT) {
            refusedGuesses(session, from, v);
            return;
        }
        if (refusing) {
            refusing = false;
            log.info("admitting new connectors again");
        }
        Proving p =
                new Proving(
                        session,
                        from,
                        route,
                        new PakeExchange(PakeExchange.Role.SHARE, session, fingerprint, password));
        proving.put(session, p);
        provingPerAddress.merge(key, 1, Integer::sum);
        p.firstStep =
                loop.schedule(
                        () -> {
                            if (proving.get(session) != p || p.heard) return;
                            log.info("session {}: the connector did not start the PAKE", session);
                            failed(p);
                        },
                        FIRST_STEP_TIMEOUT_MILLIS,
                        TimeUnit.MILLISECONDS);
        p.deadline =
                loop.schedule(
                        () -> {
                            if (proving.get(session) != p) return;
                            log.info(
                                    "session {}: the connector did not prove the code in time",
                                    session);
                            failed(p);
                        },
                        PAKE_TIMEOUT_MILLIS,
                        TimeUnit.MILLISECONDS);
        send(session, 1, p.pake.start());
    }

    /** Refuses a connector over the guess limit; says once that the share is refusing. */
    private void refusedGuesses(String session, InetAddress from, GuessLimit.Verdict v) {
        if (v == GuessLimit.Verdict.SHARE_OVER && !refusing) {
            refusing = true;
            log.warn(
                    "too many wrong codes were tried: refusing new connectors for up to {} s"
                            + " (open tunnels carry on)",
                    TimeUnit.NANOSECONDS.toSeconds(guesses.shareWaitNanos()) + 1);
        }
        wrongCodes.refused(
                v == GuessLimit.Verdict.SHARE_OVER
                        ? "the share is refusing new connectors for now (too many wrong codes)"
                        : "too many wrong codes from this address",
                from.getHostAddress());
        refuse(session, REFUSED_GUESSES);
    }

    /** A PAKE message from the connector. */
    void message(RendezvousMessage m) {
        Proving p = proving.get(m.get("session"));
        if (p == null) return;
        p.heard = true;
        PakeExchange.Next next;
        try {
            next = PakeMessages.receive(p.pake, m);
        } catch (PakeMessages.MalformedException | PakeExchange.FailedException e) {
            boolean wrong = e instanceof PakeExchange.FailedException f && f.wrongCode();
            if (!wrong) log.info("session {}: {}", p.session, e.getMessage());
            failed(p);
            return;
        }
        if (!next.confirmed()) {
            if (next.replyStep() == 3) {
                // The confirmation lets the connector test its one guess: it spends now.
                GuessLimit.Verdict v = guesses.tryAttempt(p.from);
                if (v != GuessLimit.Verdict.ADMIT) {
                    forget(p);
                    refusedGuesses(p.session, p.from, v);
                    return;
                }
                p.spent = true;
            }
            send(p.session, next.replyStep(), next.reply());
            return;
        }
        forget(p);
        if (p.spent) guesses.refund(p.from);
        log.info("session {}: the connector proved the code in {}", p.session, p.pake.timing());
        proven.proven(
                p.session,
                next.peerFingerprint(),
                p.route.withProbeKey(p.pake.derivedKey(BirthdaySearch.KEY_PURPOSE)));
    }

    /**
     * Ends an attempt that did not prove the code. It keeps its guess tokens if this side's
     * confirmation went out (the connector then had its guess); before that it spent none.
     */
    private void failed(Proving p) {
        forget(p);
        if (p.spent)
            wrongCodes.refused(
                    "a connector did not prove the code (a wrong code?)", p.from.getHostAddress());
        signalling.send(RendezvousMessage.of(END, "session", p.session));
    }

    /** The connector ended the session (the server passes its END or its leaving on). */
    void ended(String session) {
        Proving p = proving.get(session);
        if (p == null) return;
        forget(p);
        if (p.spent)
            wrongCodes.refused(
                    "a connector left without proving the code", p.from.getHostAddress());
    }

    private void forget(Proving p) {
        proving.remove(p.session);
        provingPerAddress.computeIfPresent(
                AddressBudget.Key.of(p.from), (k, n) -> n <= 1 ? null : n - 1);
        p.deadline.cancel(false);
        p.firstStep.cancel(false);
    }

    private void refuse(String session, String reason) {
        signalling.send(RendezvousMessage.of(PAKE, "session", session, "refused", reason));
        signalling.send(RendezvousMessage.of(END, "session", session));
    }

    private void send(String session, int step, byte[] data) {
        signalling.send(PakeMessages.message(session, step, data));
    }

    /** The control connection dropped: the server forgot these sessions. */
    void clear() {
        // Those whose confirmation went out keep their tokens: the connector may have had it.
        for (Proving p : proving.values().toArray(new Proving[0])) forget(p);
    }
}
