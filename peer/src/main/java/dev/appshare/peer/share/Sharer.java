package dev.appshare.peer.share;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.RelayAddress;
import dev.appshare.peer.rendezvous.RendezvousClient;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.SharedTarget;
import dev.appshare.peer.tunnel.SharedTargets;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
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
     * What to share and where to register: {@code targets} are the exposed {@code HOST:PORT}s
     * (unresolved if a host name), one per port.
     */
    public record Config(
            InetSocketAddress server,
            List<InetSocketAddress> targets,
            String name,
            PathOptions paths) {
        public Config {
            targets = List.copyOf(targets);
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

    private final Config config;
    private final EventLoopGroup group;
    private final Console console;
    private final PeerIdentity identity = PeerIdentity.generate();
    private final String owner;
    private final SharedTargets targets;
    private final RendezvousClient signalling;
    private final Promise<String> registered;
    private final Promise<Void> failed;
    private final Map<String, SharerSession> sessions = new HashMap<>();
    private String name;

    public Sharer(Config config, EventLoopGroup group, Console console) {
        this.config = config;
        this.group = group;
        this.console = console;
        byte[] secret = new byte[16];
        new SecureRandom().nextBytes(secret);
        this.owner = HexFormat.of().formatHex(secret);
        this.targets =
                SharedTargets.of(
                        config.targets().stream()
                                .map(t -> new SharedTarget(t, config.paths().resolver()))
                                .toList());
        this.signalling =
                new RendezvousClient(
                        group.next(), config.server(), this, config.paths().resolver());
        this.registered = signalling.loop().newPromise();
        this.failed = signalling.loop().newPromise();
    }

    /**
     * Looks the shared host up (off the event loops), then starts registering; the future gives the
     * name, or fails with a {@link PeerException}.
     */
    public Future<String> start() {
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

    public String name() {
        return name;
    }

    @Override
    public void connected(RendezvousClient client) {
        String wanted = name != null ? name : config.name();
        client.send(
                RendezvousMessage.of(
                        REGISTER,
                        "v",
                        VERSION,
                        "fp",
                        identity.fingerprint(),
                        "owner",
                        owner,
                        "name",
                        wanted));
    }

    @Override
    public void message(RendezvousMessage m) {
        switch (m.type()) {
            case REGISTERED -> onRegistered(m.get("name"));
            case INCOMING -> onIncoming(m);
            case ERROR -> onError(m.get("code"), NetworkText.printable(m.get("message")));
            case SIGNAL -> {
                SharerSession s = sessions.get(m.get("session"));
                if (s != null) s.signal(m);
            }
            default -> log.debug("ignoring {} from the rendezvous", m.type());
        }
    }

    private void onRegistered(String n) {
        if (name == null) {
            name = n;
            console.line("Name: " + n);
            console.line("Ports: " + targets.ports());
            log.info("sharing {} as {} via {}", targets.text(), n, signalling.serverText());
            registered.trySuccess(n);
        } else {
            log.info("re-registered as {} with {}", n, signalling.serverText());
        }
    }

    private void onIncoming(RendezvousMessage m) {
        String session = m.get("session");
        String fp = m.get("fp");
        String token = m.get("token");
        String relay = m.get("relay");
        if (session == null
                || fp == null
                || token == null
                || relay == null
                || !session.matches(SESSION_PATTERN)
                || !fp.matches(FP_PATTERN)) {
            log.warn("ignoring a malformed INCOMING from the rendezvous");
            return;
        }
        if (sessions.containsKey(session)) {
            // A rendezvous draws ids at random (see SESSION_PATTERN), so only a server that reuses
            // them (e.g. one that counts from 1 again after a restart) gets here. The tunnel on
            // the live id carries on; the new connector's tunnel fails and it asks again.
            log.warn(
                    "session {}: refused a connector: the rendezvous reused the id of a live"
                            + " session",
                    session);
            return;
        }
        SharerSession s = new SharerSession(this, session, group.next());
        sessions.put(session, s);
        log.info("session {}: a connector asked for {}", session, name);
        try {
            s.start(
                    identity,
                    fp,
                    new PathCarrier.Route(
                            RelayAddress.parse(relay, config.server()),
                            token,
                            config.server(),
                            false,
                            false),
                    config.paths(),
                    targets);
        } catch (RuntimeException e) {
            log.warn("session {}: {}", session, e.getMessage());
            s.close(null);
        }
    }

    private void onError(String code, String message) {
        PeerException e;
        if (E_NAME_TAKEN.equals(code)) {
            e =
                    new PeerException(
                            1,
                            "the name "
                                    + (name != null ? name : config.name())
                                    + " is taken by another share; choose another with --name, or"
                                    + " omit it for a random one");
        } else if (E_BAD_NAME.equals(code)) {
            e = new PeerException(2, "invalid --name: " + message);
        } else {
            e = new PeerException(1, "the rendezvous refused this share: " + message);
        }
        if (!registered.tryFailure(e)) failed.tryFailure(e);
        signalling.close();
    }

    @Override
    public boolean disconnected() {
        log.warn(
                "lost the rendezvous {}; reconnecting (open tunnels carry on)",
                signalling.serverText());
        return true; // a share keeps its name registered
    }

    @Override
    public void unreachable(String why) {
        registered.tryFailure(signalling.unreachableError(why));
    }

    RendezvousClient signalling() {
        return signalling;
    }

    void sessionEnded(SharerSession s) {
        signalling.loop().execute(() -> sessions.remove(s.id(), s));
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
