package dev.appshare.peer.share;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
import dev.appshare.peer.Status;
import dev.appshare.peer.Traffic;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.RelayAddress;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.rendezvous.RendezvousClient;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.SharedTarget;
import dev.appshare.peer.tunnel.SharedTargets;
import dev.appshare.peer.tunnel.StreamBudget;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.net.RejectionLog;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.tunnel.PausedStreams;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code appshare share}: registers a name with the rendezvous, keeps it (heartbeats;
 * re-registering the same name after the control connection comes back), and serves a tunnel to
 * each connector that asks for it. State lives on the signalling connection's event loop.
 */
public final class Sharer implements AutoCloseable, RendezvousClient.Handler {
    private static final Logger log = LoggerFactory.getLogger(Sharer.class);

    /**
     * INCOMINGs refused (malformed, a live id again, a gateway tunnel not wanted): the rendezvous
     * chooses how many, so one line per 10 s.
     */
    private final RejectionLog badIncomings =
            new RejectionLog(log, RejectionLog.INTERVAL_NANOS, System::nanoTime);

    /**
     * What to share and where to register: {@code targets} are the exposed {@code HOST:PORT}s
     * (unresolved if a host name), one per port.
     */
    public record Config(
            InetSocketAddress server,
            List<InetSocketAddress> targets,
            String name,
            PathOptions paths,
            GuessLimit.Limits guesses,
            PublicWeb publicWeb) {
        public Config {
            targets = List.copyOf(targets);
        }

        public Config(
                InetSocketAddress server,
                List<InetSocketAddress> targets,
                String name,
                PathOptions paths,
                GuessLimit.Limits guesses) {
            this(server, targets, name, paths, guesses, null);
        }

        /** The same share, public through the server's gateway ({@code share --public}). */
        public Config withPublicWeb(PublicWeb publicWeb) {
            return new Config(server, targets, name, paths, guesses, publicWeb);
        }

        /** Several shared ports, the default limit on wrong codes. */
        public Config(
                InetSocketAddress server,
                List<InetSocketAddress> targets,
                String name,
                PathOptions paths) {
            this(server, targets, name, paths, GuessLimit.Limits.DEFAULTS);
        }

        /** One shared port. */
        public Config(
                InetSocketAddress server,
                InetSocketAddress target,
                String name,
                PathOptions paths) {
            this(server, List.of(target), name, paths);
        }
    }

    /**
     * {@code share --public}: the first shared port is reachable at a URL of the server's HTTP
     * gateway, which reaches it through a tunnel of its own (a session the server asks for with
     * INCOMING gateway=1, no code: the share pins the gateway key the server named in REGISTERED,
     * and that session's streams reach this one port only).
     *
     * @param auth base64url SHA-256 of {@code --public-auth}'s {@code user:password}, or null
     */
    public record PublicWeb(String auth) {}

    /** Sessions (connectors that proved the code) at once, at most. */
    public static final int MAX_SESSIONS = 64;

    private final Config config;
    private final EventLoopGroup group;
    private final Console console;
    private final PeerIdentity identity;
    private final KeptCode kept; // share --keep-code, or null
    private final String password;
    private final SharedTargets targets;
    private final RendezvousClient signalling;
    private final ProvingConnectors proving;
    private final Promise<String> registered;
    private final Promise<Void> failed;
    // Changed on the signalling loop; read by status() from any thread.
    private final Map<String, SharerSession> sessions = new ConcurrentHashMap<>();
    private final Traffic traffic = new Traffic();
    private final PausedStreams paused = PausedStreams.warningTo(log, "connection to");
    private final StreamBudget streamBudget = StreamBudget.fromDescriptors();
    private String name;
    private boolean toldRetrying;
    private String gatewayFingerprint; // the gateway key REGISTERED named (public shares only)
    private String url; // the public URL, once REGISTERED gave one
    private boolean toldNoGateway;

    public Sharer(Config config, EventLoopGroup group, Console console) {
        this(config, group, console, null);
    }

    /**
     * A share with a kept code ({@code share --keep-code}): its key and words come from {@code
     * kept}, it asks for the kept name unless {@code config} names one, and the name the rendezvous
     * gives is written back to the file before {@code Name:} is printed.
     */
    public Sharer(Config config, EventLoopGroup group, Console console, KeptCode kept) {
        this.config = config;
        this.group = group;
        this.console = console;
        this.kept = kept;
        this.identity = kept != null ? kept.identity() : PeerIdentity.generate();
        this.password = kept != null ? kept.words() : CodeWords.draw(new SecureRandom());
        this.targets =
                SharedTargets.of(
                        config.targets().stream()
                                .map(t -> new SharedTarget(t, config.paths().resolver()))
                                .toList());
        this.signalling =
                new RendezvousClient(
                        group.next(), config.server(), this, config.paths().resolver());
        this.proving =
                new ProvingConnectors(
                        signalling,
                        identity.fingerprint(),
                        password,
                        config.guesses(),
                        System::nanoTime,
                        this::proven);
        if (kept != null) kept.keepBudget(proving.guesses(), System::nanoTime);
        this.registered = signalling.loop().newPromise();
        this.failed = signalling.loop().newPromise();
    }

    /**
     * Looks the shared host up (off the event loops), then starts registering; the future gives the
     * code, or fails with a {@link PeerException}.
     */
    public Future<String> start() {
        PakeExchange.warmUp();
        if (config.paths().usesDirect()) IceSession.warmUp();
        targets.resolve(signalling.loop())
                .addListener(
                        f -> {
                            if (f.isSuccess()) {
                                signalling.start();
                                return;
                            }
                            registered.tryFailure(
                                    new PeerException(
                                            1,
                                            "cannot resolve a shared host ("
                                                    + targets.text()
                                                    + ")"
                                                    + " ("
                                                    + f.cause().getMessage()
                                                    + "); check --host"));
                        });
        return registered;
    }

    /**
     * Completes (with a {@link PeerException}) if the share cannot go on, e.g. its name was taken.
     */
    public Future<Void> failure() {
        return failed;
    }

    /** The code, once registered: the password and the name the rendezvous gave. */
    public String name() {
        return name == null ? null : password + "-" + name;
    }

    @Override
    public void connected(RendezvousClient client) {
        String wanted = name != null ? name : config.name();
        if (wanted == null && kept != null) wanted = kept.name();
        client.send(
                RendezvousMessage.of(
                        REGISTER,
                        "v",
                        VERSION,
                        "key",
                        RegistrationProof.encodeKey(identity.certificate().getPublicKey()),
                        "name",
                        wanted,
                        "public",
                        config.publicWeb() != null ? "1" : null,
                        "auth",
                        config.publicWeb() != null ? config.publicWeb().auth() : null));
    }

    @Override
    public void message(RendezvousMessage m) {
        switch (m.type()) {
            case CHALLENGE -> onChallenge(m.get("nonce"));
            case REGISTERED -> onRegistered(m);
            case INCOMING -> onIncoming(m);
            case PAKE -> proving.message(m);
            case END -> {
                String id = m.get("session");
                if (id != null) {
                    proving.ended(id);
                    SharerSession s = sessions.get(id);
                    if (s != null) log.debug("session {}: the connector ended it", id);
                }
            }
            case ERROR -> onError(m.get("code"), NetworkText.printable(m.get("message")));
            case SIGNAL -> {
                SharerSession s = sessions.get(m.get("session"));
                if (s != null) s.signal(m);
            }
            default -> log.debug("ignoring {} from the rendezvous", m.type());
        }
    }

    /** The rendezvous asks for proof that this share holds its key: sign its challenge. */
    private void onChallenge(String nonce) {
        if (nonce == null || !nonce.matches(NONCE_PATTERN)) {
            log.warn("ignoring a malformed CHALLENGE from the rendezvous");
            return;
        }
        signalling.send(
                RendezvousMessage.of(
                        PROVE, "sig", RegistrationProof.sign(identity.privateKey(), nonce)));
    }

    private void onRegistered(RendezvousMessage m) {
        String n = m.get("name");
        if (n == null || !n.matches(NAME_PATTERN)) {
            log.warn("ignoring a malformed REGISTERED from the rendezvous");
            return;
        }
        toldRetrying = false;
        boolean first = name == null;
        if (first) name = n;
        if (first && kept != null) {
            try {
                kept.registered(n);
            } catch (IOException e) {
                PeerException err =
                        new PeerException(
                                1,
                                "cannot write the name to --keep-code file "
                                        + kept.file()
                                        + ": "
                                        + e.getMessage());
                registered.tryFailure(err);
                signalling.close();
                return;
            }
        }
        if (first) {
            console.line("Name: " + name());
            console.line("Ports: " + targets.ports());
        }
        if (config.publicWeb() != null) publicUrl(m);
        if (first) {
            log.info("sharing {} as {} via {}", targets.text(), n, signalling.serverText());
            registered.trySuccess(name());
        } else {
            log.info("re-registered as {} with {}", n, signalling.serverText());
            sessions.values().forEach(SharerSession::controlBack);
        }
    }

    /**
     * What REGISTERED says of this share's public URL: prints {@code URL: ...} when it is new, or
     * once that the server has no gateway (the share then stays private).
     */
    private void publicUrl(RendezvousMessage m) {
        String u = m.get("url");
        String fp = m.get("gateway");
        if (u == null || fp == null || !fp.matches(FP_PATTERN)) {
            gatewayFingerprint = null;
            if (!toldNoGateway) {
                toldNoGateway = true;
                console.line(
                        "No public URL: the server "
                                + signalling.serverText()
                                + " runs no HTTP gateway (appshare server --http-listen);"
                                + " the share stays private");
            }
            return;
        }
        gatewayFingerprint = fp;
        String printable = NetworkText.printable(u);
        if (!printable.equals(url)) {
            url = printable;
            console.line("URL: " + url);
        }
    }

    private void onIncoming(RendezvousMessage m) {
        String session = m.get("session");
        String from = m.get("from");
        String token = m.get("token");
        String relay = m.get("relay");
        InetAddress fromAddress = null;
        try {
            if (from != null) fromAddress = HostAddresses.literal(from);
        } catch (IllegalArgumentException e) {
            // malformed: refused below
        }
        if (session == null
                || token == null
                || relay == null
                || fromAddress == null
                || !session.matches(SESSION_PATTERN)) {
            badIncomings.refused("malformed", "an INCOMING from the rendezvous");
            return;
        }
        if (sessions.containsKey(session) || proving.contains(session)) {
            // A rendezvous draws ids at random (see SESSION_PATTERN), so only a server that reuses
            // them (e.g. one that counts from 1 again after a restart) gets here. The tunnel on
            // the live id carries on; the new connector's tunnel fails and it asks again.
            badIncomings.refused(
                    "the rendezvous reused the id of a live session", "an INCOMING for " + session);
            return;
        }
        PathCarrier.Route route;
        try {
            route =
                    new PathCarrier.Route(
                            RelayAddress.parse(relay, config.server()),
                            token,
                            config.server(),
                            false,
                            false,
                            PathCarrier.Route.port(m.get("alt")));
        } catch (RuntimeException e) {
            badIncomings.refused(e.getMessage(), "an INCOMING from the rendezvous");
            return;
        }
        if ("1".equals(m.get("gateway"))) {
            gatewayIncoming(session, route);
            return;
        }
        log.debug("session {}: a connector from {} asked for {}", session, from, name);
        proving.incoming(session, fromAddress, route, sessions.size());
    }

    /**
     * The server's gateway asks for a tunnel for visitors of the public URL. There is no code to
     * prove: the share pins the gateway key REGISTERED named, which it accepts only because it
     * asked to be public, and the session reaches the public port alone, over the relay (the
     * gateway is the server's own process, beside its relay).
     */
    private void gatewayIncoming(String session, PathCarrier.Route route) {
        if (config.publicWeb() == null || gatewayFingerprint == null) {
            badIncomings.refused("this share is not public", "a gateway tunnel (" + session + ")");
            signalling.send(RendezvousMessage.of(END, "session", session));
            return;
        }
        if (sessions.size() + proving.size() >= MAX_SESSIONS) {
            badIncomings.refused("at the most sessions", "a gateway tunnel (" + session + ")");
            signalling.send(RendezvousMessage.of(END, "session", session));
            return;
        }
        log.debug("session {}: the gateway asked for a tunnel to {}", session, publicTarget());
        SharerSession s = new SharerSession(this, session, group.next()).forGateway();
        sessions.put(session, s);
        PathOptions p = config.paths();
        PathOptions relayOnly =
                new PathOptions(
                        Transport.RELAY,
                        p.hostAddresses(),
                        p.iceTimeoutMillis(),
                        p.testOnlySocketTap(),
                        p.resolver());
        try {
            s.start(
                    identity,
                    gatewayFingerprint,
                    route,
                    relayOnly,
                    SharedTargets.of(publicTarget()));
        } catch (RuntimeException e) {
            log.warn("session {}: {}", session, e.getMessage());
            s.close(null);
        }
    }

    /** The port a public share's URL reaches: the first one shared. */
    private SharedTarget publicTarget() {
        return targets.all().iterator().next();
    }

    /** A connector proved the code: its tunnel may now cost something. */
    private void proven(String session, String peerFingerprint, PathCarrier.Route route) {
        SharerSession s = new SharerSession(this, session, group.next());
        sessions.put(session, s);
        try {
            s.start(identity, peerFingerprint, route, config.paths(), targets);
        } catch (RuntimeException e) {
            log.warn("session {}: {}", session, e.getMessage());
            s.close(null);
        }
    }

    private void onError(String code, String message) {
        if (E_NAME_TAKEN.equals(code)) {
            // The name is held or reserved for another key: after a server restart a squatter may
            // have taken it, or an earlier run's reservation has not ended. Keep trying (the
            // server closes this connection; the client reconnects with its back-off): the
            // squatter gets no connector through, as it cannot prove the code.
            if (!toldRetrying) {
                toldRetrying = true;
                console.line(
                        "The name "
                                + (name != null ? name : config.name())
                                + " is held or reserved for another share; retrying until it is"
                                + " free (a reservation lasts "
                                + NAME_RESERVATION_MILLIS / 60_000
                                + " min)");
            }
            return;
        }
        if (E_BUSY.equals(code)) {
            // Over a budget of this address at the rendezvous (registrations, live shares): it
            // refills, or another share from here leaves. Keep trying, as for a taken name: a
            // share that was registered must not end because a reconnect came too soon (after a
            // server restart, every share behind one NAT registers at once).
            if (!toldRetrying) {
                toldRetrying = true;
                console.line(
                        "The rendezvous cannot take this share now (" + message + "); retrying");
            }
            return;
        }
        PeerException e;
        if (E_BAD_NAME.equals(code)) {
            e = new PeerException(2, "invalid --name: " + message);
        } else {
            e = new PeerException(1, "the rendezvous refused this share: " + message);
        }
        if (!registered.tryFailure(e)) failed.tryFailure(e);
        signalling.close();
    }

    @Override
    public boolean disconnected() {
        proving.clear(); // the server forgot their sessions with the connection
        sessions.values().forEach(SharerSession::controlLost);
        if (toldRetrying) return true; // the refusal closed it: no need to warn again
        log.warn(
                "lost the rendezvous {}; reconnecting (open tunnels carry on)",
                signalling.serverText());
        return true; // a share keeps its name registered
    }

    @Override
    public void unreachable(String why) {
        registered.tryFailure(signalling.unreachableError(why));
    }

    Traffic traffic() {
        return traffic;
    }

    /** The streams this share holds at once, in all sessions and in each. */
    StreamBudget streamBudget() {
        return streamBudget;
    }

    /** The connections to shared ports that stopped reading, bounded for this process. */
    PausedStreams pausedStreams() {
        return paused;
    }

    /**
     * For the status line: connectors with a tunnel up (the public gateway counts as one), how many
     * of them are direct, the bytes each way and the connections open; any thread.
     */
    public Status status() {
        int up = 0;
        int direct = 0;
        for (SharerSession s : sessions.values()) {
            if (!s.isUp()) continue;
            up++;
            if (s.isDirect()) direct++;
        }
        return new Status(
                null, -1, traffic.bytesOut(), traffic.bytesIn(), traffic.connections(), up, direct);
    }

    RendezvousClient signalling() {
        return signalling;
    }

    void sessionEnded(SharerSession s) {
        signalling
                .loop()
                .execute(
                        () -> {
                            if (sessions.remove(s.id(), s) && signalling.isConnected())
                                signalling.send(RendezvousMessage.of(END, "session", s.id()));
                        });
    }

    @Override
    public void close() {
        boolean hadSessions =
                signalling
                        .loop()
                        .submit(
                                () -> {
                                    boolean any = !sessions.isEmpty();
                                    for (SharerSession s :
                                            sessions.values().toArray(new SharerSession[0]))
                                        s.close("share stopped");
                                    signalling.close();
                                    return any;
                                })
                        .syncUninterruptibly()
                        .getNow();
        if (hadSessions) {
            try {
                Thread.sleep(
                        100); // let each CONNECTION_CLOSE reach its connector before the loops stop
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
