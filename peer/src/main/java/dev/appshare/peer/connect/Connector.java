package dev.appshare.peer.connect;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
import dev.appshare.peer.Status;
import dev.appshare.peer.Timeline;
import dev.appshare.peer.Traffic;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.BirthdaySearch;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.RelayAddress;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.rendezvous.RendezvousClient;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.tunnel.PausedStreams;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code appshare connect}: listens on local ports (one per --local), asks the rendezvous for the
 * share by name, and carries every accepted connection over one tunnel to it. When the share goes
 * away it keeps the port and waits for the share to come back under the same name. It holds a
 * control connection only while it may need one: one that drops while a tunnel is open (up or
 * opening) is not replaced, as the server forgot that tunnel's session with it and a new connection
 * would have nothing to ask (the server closes a connection that sends no CONNECT); it reconnects
 * when it must ask again. State lives on the signalling event loop.
 */
public final class Connector implements AutoCloseable, RendezvousClient.Handler {
    private static final Logger log = LoggerFactory.getLogger(Connector.class);

    /** Local connections that may wait for a tunnel, and for how long. */
    static final int MAX_PENDING = 1024;

    static final long PENDING_TIMEOUT_MILLIS = 15_000;
    public static final long RETRY_MILLIS = 2_000;

    /** What to connect to and where to listen: one local listener per forward. */
    public record Config(
            InetSocketAddress server, String name, List<Forward> forwards, PathOptions paths) {
        public Config {
            forwards = List.copyOf(forwards);
            if (forwards.isEmpty()) throw new IllegalArgumentException("no local port");
        }

        /** One listener, asking for the share's port {@code local}'s number, or its only port. */
        public Config(
                InetSocketAddress server, String name, InetSocketAddress local, PathOptions paths) {
            this(server, name, List.of(Forward.sameOrOnly(local)), paths);
        }
    }

    /**
     * One {@code --local}: connections to {@code local} ask the share for {@code remotePort}, or
     * for its only port when {@code orOnly} and it does not expose {@code remotePort}.
     */
    public record Forward(InetSocketAddress local, int remotePort, boolean orOnly) {
        /** {@code --local P}: the share's port P, or its only port. */
        public static Forward sameOrOnly(InetSocketAddress local) {
            return new Forward(local, local.getPort(), true);
        }

        /** {@code --local P:REMOTE}: exactly the share's port REMOTE. */
        public static Forward exactly(InetSocketAddress local, int remotePort) {
            return new Forward(local, remotePort, false);
        }

        byte[] preamble() {
            return StreamPreamble.encode(remotePort, orOnly);
        }

        /** For log lines: what this listener asks for. */
        String remote() {
            return orOnly ? remotePort + " (or the only shared port)" : String.valueOf(remotePort);
        }
    }

    /** A PAKE not confirmed within this is given up (and asked again). */
    public static final long PAKE_TIMEOUT_MILLIS = 10_000;

    /**
     * After a share fails to prove the code, asking again waits {@link #RETRY_MILLIS} doubled per
     * failure in a row, up to this: a squatter on the share's number gets at most one guess at the
     * code per wait from each waiting connector.
     */
    public static final long MAX_WRONG_CODE_RETRY_MILLIS = 600_000;

    /** After the share refused to run the PAKE for too many wrong codes, ask again after. */
    public static final long REFUSED_RETRY_MILLIS = 10_000;

    private final Config config;
    private final ShareCode code;
    private final EventLoopGroup group;
    private final Console console;
    // Made in the background when Prestart began it, needed only once the rendezvous answers.
    private CompletableFuture<PeerIdentity> identity = PeerIdentity.generateAsync();
    // An ACCEPTED waiting for that identity: the share starts its PAKE as soon as it hears of the
    // session, so its first message can come meanwhile. It is kept (with an END or GONE of that
    // session) and handled once the exchange exists; dropped, the exchange failed on the share's
    // next message and the connector asked again 2 s later (seen in a cold start on a busy
    // machine).
    // Only the latest such ACCEPTED counts: one that a reconnect or a newer ACCEPTED overtook is
    // not answered when the identity comes.
    private RendezvousMessage acceptedWaiting;
    private final List<RendezvousMessage> early = new ArrayList<>();
    private static final int MAX_EARLY = 8;
    private final RendezvousClient signalling;
    private final EventLoop loop;
    private final Promise<Void> firstTunnel;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final List<Channel> listeners = new ArrayList<>();
    private ConnectorTunnel tunnel;
    private volatile ConnectorTunnel up; // the tunnel while it is up, for status()
    private final Traffic traffic = new Traffic();
    private final PausedStreams paused = PausedStreams.warningTo(log, "local connection from");
    private String session; // the session the server holds for this connection, until END
    private PakeExchange pake; // while proving the code in that session
    private ScheduledFuture<?> pakeDeadline;
    private PathCarrier.Route route; // the session's relay route, for the tunnel once proven
    private int wrongCodes; // in a row
    private byte[] heldConfirmation; // our step 3, sent only once the share's step 3 checked
    private ScheduledFuture<?> retry; // the one pending ask
    private long notBefore = System.nanoTime(); // no CONNECT before this (nanoTime)
    private boolean toldRefused;
    private boolean asking;
    private boolean everUp;
    private boolean bound; // the local ports are listening: asking may begin
    private boolean closed;
    private volatile SocketAddress admitOnly; // when set: the one local connection to carry

    /**
     * @throws PeerException (exit 2) if {@code config.name()} is not a code
     */
    public Connector(Config config, EventLoopGroup group, Console console) {
        try {
            this.code = ShareCode.parse(config.name());
        } catch (ShareCode.InvalidException e) {
            throw new PeerException(2, e.getMessage());
        }
        this.config = config;
        this.group = group;
        this.console = console;
        this.signalling =
                new RendezvousClient(
                        group.next(), config.server(), this, config.paths().resolver());
        this.loop = signalling.loop();
        this.firstTunnel = loop.newPromise();
    }

    /**
     * Binds the local port (throwing a {@link PeerException} if it cannot), then looks the share
     * up. The future completes when the first tunnel is up, or fails if the name is unknown or the
     * rendezvous unreachable.
     */
    public Future<Void> start() {
        PakeExchange.warmUp(); // in parallel with binding (if Prestart has not begun it)
        // Without the relay, ICE is on the critical path: load it now. With it, the tunnel comes
        // first.
        if (config.paths().transport() == Transport.DIRECT) IceSession.warmUp();
        // The control connection comes up while the ports are bound; it asks for the share only
        // once they are (a port that cannot be bound ends the command before anything is asked).
        signalling.start();
        for (Forward f : config.forwards()) listen(f);
        loop.execute(
                () -> {
                    bound = true;
                    if (signalling.isConnected() && tunnel == null && pake == null) ask();
                });
        return firstTunnel;
    }

    private void listen(Forward forward) {
        InetSocketAddress bind = HostPort.resolved(forward.local());
        Channel listener;
        try {
            // Accepted connections live on the same event loop as the tunnel: a splice between a
            // local socket and its QUIC stream then never hops threads.
            listener =
                    new ServerBootstrap()
                            .group(group, loop)
                            .channel(EventLoops.serverSocket())
                            .childOption(ChannelOption.AUTO_READ, false)
                            .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                            .childOption(ChannelOption.TCP_NODELAY, true)
                            .childHandler(new Accepted(forward))
                            .bind(bind)
                            .syncUninterruptibly()
                            .channel();
        } catch (Exception e) {
            listeners.forEach(Channel::close);
            String why =
                    e instanceof BindException || String.valueOf(e.getMessage()).contains("in use")
                            ? "is already in use; pick another with --local (or stop what holds it)"
                            : "cannot be opened: " + e.getMessage();
            throw new PeerException(
                    1, "local port " + HostPort.format(forward.local()) + " " + why);
        }
        listeners.add(listener);
        Timeline.mark("listening");
        InetSocketAddress at = (InetSocketAddress) listener.localAddress();
        console.line(
                "Listening on "
                        + HostPort.format(at)
                        + (config.forwards().size() > 1 ? " -> port " + forward.remote() : ""));
    }

    /**
     * For tests: this identity instead of a fresh one (one still being made, to see what comes
     * before it). Call before {@link #start}.
     */
    public void testOnlyIdentity(CompletableFuture<PeerIdentity> identity) {
        this.identity = identity;
    }

    /**
     * For tests: behave as a connector whose tunnel was up before, which keeps waiting (with its
     * back-off) when a share fails the code instead of exiting. Call before {@link #start}.
     */
    public void testOnlyWasUpBefore() {
        everUp = true;
    }

    /** For tests: open streams on each QUIC connection of the tunnel up now (TunnelLanes). */
    public int[] testOnlyLaneStreams() {
        ConnectorTunnel t = up;
        return t == null ? new int[0] : t.laneStreams();
    }

    /**
     * Carries only the local connection from {@code from}, and no other: the listeners close once
     * it is accepted, and a connection from elsewhere is closed at once. For {@code connect
     * --stdio}, whose one connection comes from the process itself over loopback.
     */
    public void admitOnly(SocketAddress from) {
        admitOnly = from;
    }

    /** The bytes and connections of this connector's local connections. */
    Traffic traffic() {
        return traffic;
    }

    /** The local connections that stopped reading, bounded for this process. */
    PausedStreams pausedStreams() {
        return paused;
    }

    /**
     * For the status line: the path, its round trip, the bytes each way, connections; any thread.
     */
    public Status status() {
        ConnectorTunnel t = up;
        return new Status(
                t == null ? null : t.path(),
                t == null ? -1 : t.rttMillis(),
                traffic.bytesOut(),
                traffic.bytesIn(),
                traffic.connections(),
                -1,
                0);
    }

    /** The first listener's address. */
    public InetSocketAddress localAddress() {
        return localAddresses().get(0);
    }

    /** Each listener's address, in the order of the forwards. */
    public List<InetSocketAddress> localAddresses() {
        return listeners.stream().map(l -> (InetSocketAddress) l.localAddress()).toList();
    }

    @Override
    public void connected(RendezvousClient client) {
        Timeline.mark("control connection connected");
        asking = false;
        if (bound && tunnel == null && pake == null) ask();
    }

    private void ask() {
        if (closed || asking || tunnel != null || pake != null) return;
        long early = notBefore - System.nanoTime();
        if (early > 0) {
            // A back-off holds however we got here (a reconnect too): a squatter or a malicious
            // rendezvous that drops the control connection after each wrong code gets no faster
            // guesses than one per wait.
            scheduleAsk(early);
            return;
        }
        if (!signalling.isConnected()) {
            signalling.reconnect(); // asks once connected, if the connection was let go
            return;
        }
        endSession(); // the server refuses a CONNECT while this connection holds a session
        asking = true;
        signalling.send(RendezvousMessage.of(CONNECT, "v", VERSION, "name", code.name()));
        Timeline.mark("CONNECT sent");
    }

    private void askLater() {
        askLater(RETRY_MILLIS);
    }

    /** Asks again in {@code millis}, and not before (see {@link #ask}); one timer at a time. */
    private void askLater(long millis) {
        notBefore = Math.max(notBefore, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis));
        scheduleAsk(notBefore - System.nanoTime());
    }

    private void scheduleAsk(long nanos) {
        if (retry != null) retry.cancel(false);
        retry = loop.schedule(this::ask, Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    /** Tells the server this connection's session is over, so that it may ask again. */
    private void endSession() {
        if (session != null && signalling.isConnected())
            signalling.send(RendezvousMessage.of(END, "session", session));
        session = null;
    }

    @Override
    public void message(RendezvousMessage m) {
        if (acceptedWaiting != null
                && m.get("session") != null
                && m.get("session").equals(acceptedWaiting.get("session"))
                && (m.type().equals(PAKE) || m.type().equals(END) || m.type().equals(GONE))) {
            if (early.size() < MAX_EARLY) early.add(m);
            return;
        }
        switch (m.type()) {
            case ACCEPTED -> onAccepted(m);
            case PAKE -> {
                if (pake != null && m.get("session") != null && m.get("session").equals(session))
                    onPake(m);
            }
            case ERROR -> onError(m.get("code"), NetworkText.printable(m.get("message")));
            case END -> {
                if (pake != null && m.get("session") != null && m.get("session").equals(session))
                    pakeEnded("the share ended the attempt", RETRY_MILLIS);
            }
            case GONE -> {
                // Only about this connection's session, once: the rendezvous chose how many
                // others to send.
                if (m.get("session") == null || !m.get("session").equals(session)) {
                    log.debug("ignoring a GONE of another session");
                    return;
                }
                log.info("the rendezvous says {} left", code.name());
                if (pake != null) pakeEnded("the share left while proving the code", RETRY_MILLIS);
            }
            case SIGNAL -> {
                if (tunnel != null && session != null && session.equals(m.get("session")))
                    tunnel.signal(m);
            }
            default -> log.debug("ignoring {} from the rendezvous", m.type());
        }
    }

    /** The server found the share: prove the code to each other before anything else. */
    private void onAccepted(RendezvousMessage m) {
        if (!asking) {
            // Only the answer to our CONNECT: an ACCEPTED sent unasked would start a PAKE, one
            // guess at the code for whoever runs the other end, outside the wrong-code back-off.
            log.debug("ignoring an ACCEPTED that answers no CONNECT");
            return;
        }
        Timeline.mark("ACCEPTED");
        if (!identity.isDone()) { // still being made (Prestart): answer once it is
            acceptedWaiting = m;
            early.clear();
            identity.whenComplete(
                    (x, e) ->
                            loop.execute(
                                    () -> {
                                        if (!closed && acceptedWaiting == m) onAccepted(m);
                                    }));
            return;
        }
        List<RendezvousMessage> arrivedEarly = List.copyOf(early);
        acceptedWaiting = null;
        early.clear();
        PeerIdentity self;
        try {
            self = identity.join();
        } catch (RuntimeException e) {
            Throwable why = e.getCause() != null ? e.getCause() : e;
            firstTunnel.tryFailure(new PeerException(1, why.getMessage()));
            return;
        }
        asking = false;
        String token = m.get("token");
        String relay = m.get("relay");
        String id = m.get("session");
        if (tunnel != null
                || pake != null
                || id == null
                || token == null
                || relay == null
                || !id.matches(SESSION_PATTERN)) {
            log.debug("ignoring an ACCEPTED (tunnel already up, or malformed)");
            return;
        }
        session = id;
        try {
            route =
                    new PathCarrier.Route(
                            RelayAddress.parse(relay, config.server()),
                            token,
                            config.server(),
                            true,
                            true,
                            PathCarrier.Route.port(m.get("alt")));
        } catch (RuntimeException e) {
            log.warn("ignoring an ACCEPTED: {}; retrying", NetworkText.printable(e.getMessage()));
            endSession();
            askLater();
            return;
        }
        pake =
                new PakeExchange(
                        PakeExchange.Role.CONNECTOR, id, self.fingerprint(), code.password());
        PakeExchange mine = pake;
        pakeDeadline =
                loop.schedule(
                        () -> {
                            if (pake == mine)
                                pakeEnded(
                                        "the share did not answer the code in time", RETRY_MILLIS);
                        },
                        PAKE_TIMEOUT_MILLIS,
                        TimeUnit.MILLISECONDS);
        sendPake(1, pake.start());
        for (RendezvousMessage e : arrivedEarly) if (id.equals(e.get("session"))) message(e);
    }

    private void onPake(RendezvousMessage m) {
        String refused = m.get("refused");
        if (refused != null) {
            String why =
                    REFUSED_GUESSES.equals(refused)
                            ? "the share refuses new connectors for now: too many wrong codes were"
                                    + " tried"
                            : "the share is at its limit of connectors";
            // A busy share frees a slot within seconds; wrong codes take minutes to forgive.
            long wait = REFUSED_GUESSES.equals(refused) ? REFUSED_RETRY_MILLIS : RETRY_MILLIS;
            if (!toldRefused) {
                toldRefused = true;
                log.warn("{}; asking again every {} s", why, wait / 1000);
            }
            pakeEnded(null, wait);
            return;
        }
        PakeExchange.Next next;
        try {
            next = PakeMessages.receive(pake, m);
        } catch (PakeExchange.FailedException e) {
            if (e.wrongCode()) wrongCode();
            else
                pakeEnded(
                        "the share's answer to the code was broken (" + e.getMessage() + ")",
                        RETRY_MILLIS);
            return;
        } catch (PakeMessages.MalformedException e) {
            pakeEnded(
                    "the share's answer to the code was broken (" + e.getMessage() + ")",
                    RETRY_MILLIS);
            return;
        }
        if (!next.confirmed()) {
            if (next.replyStep() == 3) {
                // The connector confirms second: its tag would let whoever plays the share test
                // a guess at the password offline, so it goes out only after the share's own tag
                // proved that the share knows the code. (The share confirms first, and pays for
                // that with a token of its guess limit.)
                heldConfirmation = next.reply();
                return;
            }
            sendPake(next.replyStep(), next.reply());
            return;
        }
        if (heldConfirmation != null) sendPake(3, heldConfirmation);
        heldConfirmation = null;
        PakeExchange proven = pake;
        pakeDeadline.cancel(false);
        pake = null;
        wrongCodes = 0;
        toldRefused = false;
        // scripts/bench (ConnectTimes) reads this line: the PAKE's cost to a connect
        if (log.isDebugEnabled())
            log.debug(
                    "the share proved the code in {} after ACCEPTED; its key is {}",
                    proven.timing(),
                    next.peerFingerprint());
        Timeline.mark("PAKE done");
        route = route.withProbeKey(proven.derivedKey(BirthdaySearch.KEY_PURPOSE));
        openTunnel(session, next.peerFingerprint());
    }

    /**
     * The share's confirmation did not check: it does not know this code. Before any tunnel came up
     * that is a wrong code (exit); after, another share holds the number now (the real one is away,
     * e.g. after a server restart), so keep waiting for the real one.
     */
    private void wrongCode() {
        if (!everUp) {
            pakeDeadline.cancel(false);
            pake = null;
            heldConfirmation = null;
            endSession();
            firstTunnel.tryFailure(
                    new PeerException(
                            2,
                            "the share "
                                    + code.name()
                                    + " did not accept the code "
                                    + code
                                    + ": check it (if it is right, another share holds "
                                    + code.name()
                                    + " or the rendezvous is tampering)"));
            return;
        }
        wrongCodes++;
        long wait = Math.min(MAX_WRONG_CODE_RETRY_MILLIS, RETRY_MILLIS << Math.min(wrongCodes, 10));
        pakeEnded(
                "the share now at "
                        + code.name()
                        + " does not know the code (another share took the number?); waiting for"
                        + " the real one",
                wait);
    }

    /** Gives up this session's PAKE, logs why (if given), and asks again after {@code wait}. */
    private void pakeEnded(String why, long wait) {
        if (pakeDeadline != null) pakeDeadline.cancel(false);
        pake = null;
        heldConfirmation = null;
        endSession();
        if (why != null) log.warn("{}; asking again in {} s", why, wait / 1000);
        askLater(wait);
    }

    private void sendPake(int step, byte[] data) {
        signalling.send(PakeMessages.message(session, step, data));
    }

    /** The share proved the code and its key: open the tunnel, pinned to that key. */
    private void openTunnel(String id, String fp) {
        ConnectorTunnel t = new ConnectorTunnel(this, loop, console);
        Future<?> opening;
        try {
            opening =
                    t.open(
                            identity.join(), // done: the PAKE used it
                            fp,
                            route,
                            config.paths(),
                            kv -> signalling.sendSignal(id, kv));
        } catch (RuntimeException e) {
            log.warn("could not open the tunnel to {}: {}; retrying", code.name(), e.getMessage());
            endSession();
            askLater();
            return;
        }
        tunnel = t;
        opening.addListener(
                f ->
                        loop.execute(
                                () -> {
                                    if (!f.isSuccess()) {
                                        if (tunnel == t) tunnel = null;
                                        if (!everUp
                                                && config.paths().transport() == Transport.DIRECT
                                                && f.cause()
                                                        instanceof PathCarrier.NoPathException) {
                                            firstTunnel.tryFailure(
                                                    new PeerException(1, f.cause().getMessage()));
                                            return;
                                        }
                                        log.warn(
                                                "could not open the tunnel to {}: {}; retrying",
                                                code.name(),
                                                f.cause().getMessage());
                                        askLater();
                                        return;
                                    }
                                    if (!everUp) log.info("tunnel to {} is up", code.name());
                                    else log.info("{} is back; tunnel up again", code.name());
                                    everUp = true;
                                    up = t;
                                    Timeline.mark("tunnel up");
                                    firstTunnel.trySuccess(null);
                                    while (!pending.isEmpty()) {
                                        Pending p = pending.poll();
                                        if (p.local().isActive())
                                            t.openStream(p.local(), p.forward());
                                    }
                                }));
    }

    private void onError(String errorCode, String message) {
        if (!asking) {
            // It answers no CONNECT of ours: nothing to act on, and the rendezvous chose how many
            // to send.
            log.debug("ignoring an ERROR that answers no CONNECT: {} {}", errorCode, message);
            return;
        }
        asking = false;
        if (E_UNKNOWN_NAME.equals(errorCode)) {
            if (!everUp) {
                firstTunnel.tryFailure(
                        new PeerException(
                                2,
                                "no share "
                                        + code.name()
                                        + " on "
                                        + signalling.serverText()
                                        + "; check the code that `appshare share` printed"));
            } else {
                askLater(); // the share is away: keep asking until it comes back
            }
            return;
        }
        PeerException e = new PeerException(1, "the rendezvous refused: " + message);
        if (!firstTunnel.tryFailure(e)) log.warn(e.getMessage());
        askLater();
    }

    void tunnelClosed(ConnectorTunnel t, String why) {
        loop.execute(
                () -> {
                    if (up == t) up = null;
                    if (tunnel != t) return;
                    tunnel = null;
                    if (closed) return;
                    log.warn(
                            "the share {} is gone ({}); waiting for it to come back",
                            code.name(),
                            why);
                    askLater();
                });
    }

    @Override
    public boolean disconnected() {
        asking = false;
        session = null; // the server forgot it with the connection
        acceptedWaiting = null; // and the session an ACCEPTED waiting for the identity named
        early.clear();
        if (pake != null) {
            pakeDeadline.cancel(false);
            pake = null;
            heldConfirmation = null;
            askLater(); // ask again once reconnected
        }
        if (tunnel != null) {
            tunnel.controlLost();
            log.warn(
                    "lost the rendezvous {}; the open tunnel to {} does not need it: reconnecting"
                            + " when the tunnel ends",
                    signalling.serverText(),
                    code.name());
            return false;
        }
        log.warn("lost the rendezvous {}; reconnecting", signalling.serverText());
        return true;
    }

    @Override
    public void unreachable(String why) {
        firstTunnel.tryFailure(signalling.unreachableError(why));
    }

    private void accepted(Channel local, Forward forward) {
        Timeline.mark("first local connection accepted");
        loop.execute(
                () -> {
                    ConnectorTunnel t = tunnel;
                    if (t != null && t.isUp()) {
                        t.openStream(local, forward);
                    } else if (pending.size() < MAX_PENDING && !closed) {
                        Pending p = new Pending(local, forward);
                        pending.add(p);
                        loop.schedule(
                                () -> {
                                    if (pending.remove(p)) {
                                        log.info(
                                                "closed a local connection: no tunnel to {} within"
                                                        + " {} s",
                                                code.name(),
                                                PENDING_TIMEOUT_MILLIS / 1000);
                                        local.close();
                                    }
                                },
                                PENDING_TIMEOUT_MILLIS,
                                TimeUnit.MILLISECONDS);
                    } else {
                        local.close();
                    }
                });
    }

    /** A local connection waiting for the tunnel, and what it asks the share for. */
    private record Pending(Channel local, Forward forward) {}

    @Override
    public void close() {
        loop.submit(
                        () -> {
                            closed = true;
                            if (pakeDeadline != null) pakeDeadline.cancel(false);
                            if (retry != null) retry.cancel(false);
                            pake = null;
                            listeners.forEach(Channel::close);
                            pending.forEach(p -> p.local().close());
                            pending.clear();
                            if (tunnel != null) tunnel.close();
                            signalling.close();
                        })
                .syncUninterruptibly();
    }

    @ChannelHandler.Sharable
    private final class Accepted extends ChannelInboundHandlerAdapter {
        private final Forward forward;

        Accepted(Forward forward) {
            this.forward = forward;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            SocketAddress only = admitOnly;
            if (only != null) {
                if (!only.equals(ctx.channel().remoteAddress())) {
                    log.warn(
                            "closed a local connection from {}: not the one this connect carries",
                            ctx.channel().remoteAddress());
                    ctx.close();
                    return;
                }
                loop.execute(() -> listeners.forEach(Channel::close));
            }
            accepted(ctx.channel(), forward);
            ctx.fireChannelActive();
        }
    }
}
