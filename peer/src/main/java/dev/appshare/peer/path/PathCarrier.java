package dev.appshare.peer.path;

import dev.appshare.peer.Timeline;
import dev.appshare.peer.ice.AddressWatch;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.ice.IceDemuxHandler;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.ice.NatMapping;
import dev.appshare.peer.ice.RemoteSignals;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import dev.appshare.wire.tunnel.PathSignals;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything under one QUIC connection: the UDP channel holding the codec, the path layer, the
 * relay path and the ICE negotiation for the direct one. {@link #open} completes once a path can
 * carry datagrams (the relay, or with {@code --transport direct} the direct path), so the QUIC
 * handshake that follows is never sent into a void; the other path joins whenever it is ready.
 */
public final class PathCarrier {
    private static final Logger log = LoggerFactory.getLogger(PathCarrier.class);
    public static final long RELAY_PAIRING_TIMEOUT_MILLIS = 15_000;

    /** How often a tunnel on --transport auto asks {@link IceRestarts} whether to restart ICE. */
    static final long RESTART_TICK_MILLIS = 1_000;

    /**
     * A nudge restarts within this long, at random, so that many tunnels do not restart at once.
     */
    static final long NUDGE_SPREAD_MILLIS = 3_000;

    /**
     * With {@code iceLater}, how long the relay has to pair before ICE starts anyway. A relay that
     * pairs at all does so within a few round trips; one that is silent, unreachable or has no
     * partner (a share with --transport direct, or one that cannot reach the relay) is only
     * detected after 10 to 30 s, and the direct path must not wait for that.
     */
    public static final long RELAY_HEAD_START_MILLIS = 1_500;

    /**
     * Where the tunnel's paths lead; relay and token are unused with --transport direct. With
     * {@code iceLater}, ICE waits for {@link #startIce()}: the connector starts it once the tunnel
     * is up on the relay, so that ice4j's first-use cost (about a second of CPU) never delays the
     * first byte; if the relay has not paired within {@link #RELAY_HEAD_START_MILLIS}, or cannot,
     * ICE starts then.
     */
    public record Route(
            InetSocketAddress relay,
            String token,
            InetSocketAddress stunServer,
            boolean controlling,
            boolean iceLater,
            int stunAltPort,
            byte[] probeKey) {

        /** A token that is not a relay token's form is refused here, before anything is dialled. */
        public Route {
            if (!RelayToken.wellFormed(token))
                throw new IllegalArgumentException("the relay token is not a relay token");
        }

        /** Without a second STUN port (-1): the NAT's mapping is not learned. */
        public Route(
                InetSocketAddress relay,
                String token,
                InetSocketAddress stunServer,
                boolean controlling,
                boolean iceLater) {
            this(relay, token, stunServer, controlling, iceLater, -1, null);
        }

        /** Before the PAKE: no key for the birthday search's probes yet. */
        public Route(
                InetSocketAddress relay,
                String token,
                InetSocketAddress stunServer,
                boolean controlling,
                boolean iceLater,
                int stunAltPort) {
            this(relay, token, stunServer, controlling, iceLater, stunAltPort, null);
        }

        /**
         * With the key the PAKE gave both peers for the birthday search's probes (null: no search).
         */
        public Route withProbeKey(byte[] key) {
            return new Route(relay, token, stunServer, controlling, iceLater, stunAltPort, key);
        }

        /** A port field of ACCEPTED or INCOMING ({@code alt=}), or -1 if absent or malformed. */
        public static int port(String field) {
            if (field == null || !field.matches("[0-9]{1,5}")) return -1;
            int p = Integer.parseInt(field);
            return p > 0 && p <= 65535 ? p : -1;
        }
    }

    private final EventLoop loop;
    private final PathOptions options;
    private final PathSwitch paths;
    private final IceDemuxHandler demux = new IceDemuxHandler();
    private final boolean controlling;
    private IceSession ice; // the current negotiation's (null: none could start)
    private int generation; // the current negotiation's: 0 the first (over the rendezvous)
    private int highestGeneration; // the highest either peer used
    private boolean iceBusy; // the current negotiation runs
    private final IceRestarts restarts; // null: no restarts (not --transport auto)
    private PathSignals.Sender tunnelSignals; // once the tunnel is up
    private ScheduledFuture<?> restartTick;
    private long addressVersion;
    private int signalsThisGeneration; // the other peer's, inside the tunnel
    private int refusedGeneration; // the last restart of the other peer's we refused
    private long refusedAt = Long.MIN_VALUE / 2;
    private boolean toldNoDirect;
    private final Promise<PathCarrier> ready;
    private final Promise<Void> directSettled;
    private Channel udp;
    private Channel relay;
    private String relayFailure;
    private String directFailure;
    private boolean closed;
    private boolean iceStarted;
    private final InetSocketAddress stunServer;
    private final int stunAltPort;
    private final byte[] probeKey; // the birthday search's, from the PAKE; null: no search
    private final BirthdayHandler birthday = new BirthdayHandler();
    private BirthdaySearch search; // while one runs
    private boolean searchDecided; // ICE's pairs are not taken from then on
    private String iceFailure; // ICE's reason, held while the search runs
    private Future<Channel> relayDial; // until it completes; close() cancels it

    private PathCarrier(
            EventLoop loop,
            PathOptions options,
            Route route,
            IceSession.Signals signals,
            PathSwitch.Listener listener) {
        this.loop = loop;
        this.options = options;
        this.controlling = route.controlling();
        this.restarts = options.usesDirect() && options.usesRelay() ? new IceRestarts() : null;
        this.stunServer = route.stunServer();
        this.stunAltPort = route.stunAltPort();
        this.probeKey = route.probeKey();
        this.paths = new PathSwitch(listener, options.usesDirect());
        this.ready = loop.newPromise();
        this.directSettled = loop.newPromise();
        this.ice =
                options.usesDirect()
                        ? IceSession.open(
                                route.controlling(),
                                demux,
                                options.hostAddresses(),
                                route.stunServer(),
                                loop,
                                options.iceTimeoutMillis(),
                                signals,
                                new IceListener(0),
                                0)
                        : null;
        if (!options.usesDirect()) {
            signals.send("ice", "off"); // lets the other peer stop waiting for candidates
        } else if (ice == null) {
            signals.send("ice", "busy"); // the same, for this session only
            directFailure =
                    "this process already runs its most ICE negotiations at once ("
                            + IceSession.MAX_SESSIONS
                            + ")";
            if (options.usesRelay())
                log.info("no direct path to the peer: {}; staying on the relay", directFailure);
        }
    }

    /** Starts setting up the paths; {@link #ready()} says when one carries datagrams. */
    public static PathCarrier open(
            EventLoop loop,
            ChannelHandler quicCodec,
            PathOptions options,
            Route route,
            IceSession.Signals signals,
            PathSwitch.Listener listener) {
        PathCarrier c = new PathCarrier(loop, options, route, signals, listener);
        ChannelHandler tap =
                options.testOnlySocketTap() != null ? options.testOnlySocketTap().get() : null;
        TunnelSocket.bind(loop, tap, c.demux, c.birthday, c.paths, quicCodec)
                .addListener(
                        (ChannelFutureListener)
                                bound -> {
                                    if (!bound.isSuccess()) {
                                        c.ready.tryFailure(bound.cause());
                                        c.close();
                                        return;
                                    }
                                    c.udp = bound.channel();
                                    Timeline.mark("tunnel socket bound");
                                    if (c.closed) { // close() ran while the bind was pending
                                        c.udp.close();
                                        return;
                                    }
                                    if (options.usesRelay()) c.dialRelay(route);
                                    if (!route.iceLater() || !options.usesRelay()) {
                                        c.startIce();
                                    } else {
                                        loop.schedule(
                                                c::startIceUnlessRelayPaired,
                                                RELAY_HEAD_START_MILLIS,
                                                TimeUnit.MILLISECONDS);
                                    }
                                    c.failIfNoPath(); // direct only, and no ICE slot
                                });
        return c;
    }

    /** Completes once a path can carry datagrams, or fails when none can. */
    public Future<PathCarrier> ready() {
        return ready;
    }

    private void dialRelay(Route route) {
        options.resolver()
                .resolve(route.relay(), loop)
                .addListener(
                        r -> {
                            if (closed) return;
                            if (!r.isSuccess()) {
                                relayFailed(
                                        "cannot resolve the relay "
                                                + HostPort.format(route.relay())
                                                + ": "
                                                + r.cause().getMessage());
                            } else {
                                dialRelay(route, (InetSocketAddress) r.getNow());
                            }
                        });
    }

    private void relayFailed(String why) {
        relayFailure = why;
        log.debug("relay path failed: {}", why);
        paths.relayUnavailable();
        startIce(); // ICE may have been waiting for the relay (a share with --transport direct)
        failIfNoPath();
    }

    private void dialRelay(Route route, InetSocketAddress relayAddress) {
        if (closed) return;
        relayDial =
                RelayPath.dial(
                        loop, relayAddress, route.token(), RELAY_PAIRING_TIMEOUT_MILLIS, paths);
        relayDial.addListener(
                f -> {
                    if (f.isCancelled()) return; // we closed
                    if (!f.isSuccess()) {
                        relayFailed(f.cause().getMessage());
                        return;
                    }
                    relay = (Channel) f.getNow();
                    Timeline.mark("relay paired");
                    if (closed) {
                        relay.close();
                        return;
                    }
                    // Attach first: the owner starts QUIC as soon as the ready future
                    // completes.
                    paths.attachRelay(relay, HostPort.format(route.relay()));
                    ready.trySuccess(this);
                });
    }

    private void failIfNoPath() {
        if (ready.isDone()) return;
        boolean relayOut = !options.usesRelay() || relayFailure != null;
        boolean directOut = !options.usesDirect() || directFailure != null;
        if (!relayOut || !directOut) return;
        String why =
                options.usesRelay() && options.usesDirect()
                        ? "no path to the peer: relay: "
                                + relayFailure
                                + "; direct: "
                                + directFailure
                        : options.usesRelay()
                                ? relayFailure
                                : "no direct path to the peer: "
                                        + directFailure
                                        + " (--transport auto would use the relay)";
        ready.tryFailure(new NoPathException(why));
        close();
    }

    /** Neither path could be set up. */
    public static final class NoPathException extends Exception {
        NoPathException(String message) {
            super(message);
        }
    }

    private void startIceUnlessRelayPaired() {
        if (relay == null) startIce();
    }

    /**
     * True while ICE was started and has neither failed nor produced a direct path that answers:
     * the tunnel may still get a path from it. ICE gives up on its own (see {@link IceSession}).
     */
    public boolean iceRunning() {
        return iceStarted && !closed && !directSettled.isDone();
    }

    /** Completes when ICE has failed, its direct path first answered, or the carrier closed. */
    public Future<Void> directSettled() {
        return directSettled;
    }

    /** Starts ICE (once; no-op with --transport relay). Any thread. */
    public void startIce() {
        if (!loop.inEventLoop()) {
            loop.execute(this::startIce);
            return;
        }
        if (ice == null || iceStarted || closed || udp == null) return;
        iceStarted = true;
        begin(ice);
    }

    /**
     * Starts a negotiation's gathering. The STUN server is the rendezvous, looked up off the loop
     * by the same resolver as everything else; if that fails, ICE goes on without a reflexive
     * candidate.
     */
    private void begin(IceSession session) {
        iceBusy = true;
        InetSocketAddress stun = stunServer;
        if (stun == null) {
            session.start(null);
            return;
        }
        options.resolver()
                .resolve(stun, loop)
                .addListener(
                        f -> {
                            if (!closed && session == ice)
                                session.start(
                                        f.isSuccess() ? (InetSocketAddress) f.getNow() : stun,
                                        stunAltPort);
                        });
    }

    /** A SIGNAL from the other peer over the rendezvous: the first negotiation's. Any thread. */
    public void signal(RendezvousMessage m) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> signal(m));
            return;
        }
        if ("off".equals(m.get("ice")) && restarts != null) restarts.never();
        if (generation == 0 && ice != null) ice.remote(m);
    }

    /**
     * The tunnel is up: from now on this carrier may restart ICE ({@link IceRestarts}), with its
     * signals inside the tunnel ({@link PathSignals}). On the tunnel's event loop.
     */
    public void tunnelUp(QuicChannel quic) {
        if (restarts == null || closed || tunnelSignals != null) return;
        tunnelSignals = new PathSignals.Sender(quic);
        PathSignals.deliverTo(quic, this::tunnelSignal);
        if (options.followsInterfaces()) addressVersion = AddressWatch.version();
        restartTick =
                loop.scheduleAtFixedRate(
                        this::tickRestarts,
                        RESTART_TICK_MILLIS,
                        RESTART_TICK_MILLIS,
                        TimeUnit.MILLISECONDS);
    }

    /**
     * Something suggests the direct path should be looked for again (the control connection came
     * back after a drop): a restart at the next tick, unless a direct path carries. Any thread.
     */
    public void nudge(String why) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> nudge(why));
            return;
        }
        if (restarts == null || closed) return;
        log.debug("ICE restart asked for: {}", why);
        // at a random moment of the next 3 s: a share's tunnels do not all restart at once
        loop.schedule(
                restarts::nudge,
                ThreadLocalRandom.current().nextLong(NUDGE_SPREAD_MILLIS),
                TimeUnit.MILLISECONDS);
    }

    /**
     * This side's control connection dropped: if the first negotiation (signalled through it) still
     * runs, what was on its way is lost, so it is ended and ICE restarts at once, inside the
     * tunnel, where nothing depends on the rendezvous. Any thread.
     */
    public void controlLost() {
        if (!loop.inEventLoop()) {
            loop.execute(this::controlLost);
            return;
        }
        if (restarts == null || closed || tunnelSignals == null) return;
        if (generation != 0 || !iceBusy) return;
        log.debug("ICE restart asked for: the rendezvous connection dropped during the first one");
        restarts.nudgeEvenIfBusy();
    }

    private void tickRestarts() {
        if (closed) return;
        if (!tunnelSignals.usable()) {
            // the other peer closed our signal stream: it takes no restarts (--transport relay
            // or direct, or a version without them), so none is started again
            log.debug("the other peer takes no ICE restarts");
            restarts.never();
            restartTick.cancel(false);
            return;
        }
        if (options.followsInterfaces()) {
            long v = AddressWatch.version();
            if (v != addressVersion) {
                addressVersion = v;
                if (!paths.directCarries()) nudge("this machine's addresses changed");
            }
        }
        boolean busy = iceBusy || search != null || paths.directProving();
        if (restarts.due(nowMillis(), paths.directCarries(), busy)) {
            restart(
                    Math.max(generation, highestGeneration) + 1,
                    paths.hasDirect()
                            ? "the direct path stopped answering"
                            : "no direct path yet (" + restarts.failures() + " tries)");
        }
    }

    /**
     * A SIGNAL the other peer sent inside the tunnel: a restart's. On the loop. Budgets hold here,
     * before anything is queued for ICE's threads: {@link RemoteSignals#MAX_REMOTE_SIGNALS} per
     * generation, and a refusal ({@code ice=busy}) at most once a second, each for a generation
     * higher than the last refused.
     */
    private void tunnelSignal(RendezvousMessage m) {
        int gen = generationOf(m);
        if (closed || gen <= 0 || gen < generation) return;
        highestGeneration = Math.max(highestGeneration, gen);
        if (gen > generation) {
            if (m.get("ice") != null) return; // a refusal of a restart we no longer run
            long now = nowMillis();
            if (!restarts.joinsRemote(now)) {
                if (gen > refusedGeneration && now - refusedAt >= 1_000) {
                    refusedGeneration = gen;
                    refusedAt = now;
                    sendInTunnel(gen, "ice", "busy");
                }
                return;
            }
            restart(gen, "the other peer restarts ICE");
        }
        if (++signalsThisGeneration > RemoteSignals.MAX_REMOTE_SIGNALS) return;
        if (ice != null) ice.remote(m);
    }

    /** The event loop's clock in ms: the one its timers, and so {@link IceRestarts}, run on. */
    private long nowMillis() {
        return loop.ticker().nanoTime() / 1_000_000;
    }

    /** The {@code gen=} of a tunnel SIGNAL, or -1 if absent or malformed. */
    private static int generationOf(RendezvousMessage m) {
        String g = m.get("gen");
        return g != null && g.matches("[1-9][0-9]{0,8}") ? Integer.parseInt(g) : -1;
    }

    private void sendInTunnel(int gen, String... keyValues) {
        String[] kv = new String[keyValues.length + 2];
        kv[0] = "gen";
        kv[1] = Integer.toString(gen);
        System.arraycopy(keyValues, 0, kv, 2, keyValues.length);
        tunnelSignals.send(RendezvousMessage.of(RendezvousProtocol.SIGNAL, kv));
    }

    /**
     * An ICE restart: the current negotiation (and any search) ends, a new one with fresh
     * credentials gathers on the same socket and sends its signals inside the tunnel. A direct path
     * the path layer still probes stays until the new one validates a pair.
     */
    private void restart(int gen, String why) {
        log.debug("ICE restart {}: {}", gen, why);
        if (ice != null) ice.close();
        if (search != null) search.cancel();
        search = null;
        searchDecided = false;
        iceFailure = null;
        generation = gen;
        highestGeneration = Math.max(highestGeneration, gen);
        signalsThisGeneration = 0;
        iceBusy = false;
        ice =
                IceSession.open(
                        controlling,
                        demux,
                        options.hostsNow(),
                        stunServer,
                        loop,
                        options.iceTimeoutMillis(),
                        kv -> sendInTunnel(gen, kv),
                        new IceListener(gen),
                        IceSession.RESERVED_FOR_FIRST);
        if (ice == null) {
            log.debug("ICE restart {}: no session free in this process", gen);
            sendInTunnel(gen, "ice", "busy");
            return;
        }
        begin(ice);
    }

    private final class IceListener implements IceSession.Listener {
        private final int gen;

        IceListener(int gen) {
            this.gen = gen;
        }

        @Override
        public void validated(
                InetSocketAddress local,
                InetSocketAddress remote,
                String localType,
                String remoteType) {
            if (closed || gen != generation) return;
            iceBusy = false;
            if (searchDecided) {
                // Both peers decided on a birthday search from the same facts: its pair is the
                // one both take, so that they never prove two different pairs.
                log.debug("ICE's pair {} not taken: the birthday search decides", remote);
                return;
            }
            paths.directValidated(
                    local,
                    remote,
                    localType + " <-> " + remoteType,
                    () -> {
                        directSettled.trySuccess(null);
                        ready.trySuccess(PathCarrier.this);
                    },
                    this::failed);
        }

        @Override
        public void failed(String why) {
            if (gen != generation) return;
            iceBusy = false;
            if (search != null || paths.directCarries()) {
                // The birthday search may still find a pair (its end says why, or nothing), or
                // found one that carries the tunnel now: ICE's failure is no news then.
                iceFailure = why;
                return;
            }
            noDirectPath(why);
        }

        @Override
        public void mappingsKnown(
                NatMapping local,
                NatMapping remote,
                InetSocketAddress remoteReflexive,
                boolean easySideBehindNat) {
            // An easy side with a public address is ICE's to punch (its candidate is its address);
            // behind a NAT, only the search can (a NAT that lets anything in aside).
            if (easySideBehindNat && gen == generation) startSearch(local, remote, remoteReflexive);
        }
    }

    /**
     * No direct path will form: say why (once, at the default level: a restart's failure is only
     * logged), and fail if the relay is not there either.
     */
    private void noDirectPath(String why) {
        directFailure = why;
        directSettled.trySuccess(null);
        if (options.usesRelay() && !toldNoDirect && generation == 0) {
            toldNoDirect = true;
            log.info("no direct path to the peer: {}; staying on the relay", why);
        } else {
            log.debug("no direct path to the peer ({}): {}", generation, why);
        }
        failIfNoPath();
    }

    /**
     * Exactly one side maps per destination: run the birthday search ({@link BirthdaySearch}) in
     * parallel with ICE, which cannot punch such a pair. Not when both sides are hard (about 54,000
     * probes for even odds), without the relay (the search runs while the tunnel is up on it), or
     * without a key from the PAKE (the gateway's tunnels).
     */
    private void startSearch(
            NatMapping local, NatMapping remote, InetSocketAddress remoteReflexive) {
        if (closed
                || search != null
                || probeKey == null
                || !options.usesRelay()
                || local == NatMapping.UNKNOWN
                || remote == NatMapping.UNKNOWN
                || (local == NatMapping.VARIES) == (remote == NatMapping.VARIES)
                || paths.directCarries()
                || paths.directProving()) return;
        searchDecided = true;
        BirthdaySearch.Outcome outcome =
                new BirthdaySearch.Outcome() {
                    @Override
                    public void found(
                            InetSocketAddress at, InetSocketAddress remoteAddress, Channel via) {
                        search = null;
                        if (closed || paths.directCarries()) {
                            if (via != null) via.close();
                            return;
                        }
                        if (via != null) {
                            via.pipeline().addLast("paths", paths.otherSocketHandler());
                            TunnelSocket.sizeBuffers(via); // as the tunnel's own socket
                        }
                        // a socket on the wildcard address: shown with the address its
                        // datagrams leave from, as ICE's host candidates are
                        if (at.getAddress().isAnyLocalAddress()) {
                            InetAddress from = HostAddresses.toward(remoteAddress.getAddress());
                            if (from != null) at = new InetSocketAddress(from, at.getPort());
                            else if (remoteAddress.getAddress() instanceof Inet4Address)
                                at = new InetSocketAddress("0.0.0.0", at.getPort());
                        }
                        log.debug(
                                "birthday search: {} answered from {}",
                                HostPort.literal(remoteAddress),
                                HostPort.literal(at));
                        paths.directValidated(
                                at,
                                remoteAddress,
                                "birthday search",
                                () -> {
                                    directSettled.trySuccess(null);
                                    ready.trySuccess(PathCarrier.this);
                                },
                                why ->
                                        noDirectPath(
                                                "the pair the birthday search found did not"
                                                        + " answer: "
                                                        + why),
                                via);
                    }

                    @Override
                    public void gaveUp(String why) {
                        search = null;
                        if (closed || paths.directCarries()) return;
                        if (iceFailure != null) noDirectPath(why + " (ICE: " + iceFailure + ")");
                        else log.debug("{}; ICE goes on", why);
                    }
                };
        boolean hard = local == NatMapping.VARIES;
        log.debug(
                "{}: a birthday search, this side {}",
                hard
                        ? "this side's NAT maps per destination"
                        : "the other peer's NAT maps per" + " destination",
                hard ? "opening sockets" : "probing");
        search =
                hard
                        ? BirthdaySearch.hard(loop, remoteReflexive, probeKey, outcome)
                        : BirthdaySearch.easy(
                                loop, birthday, remoteReflexive.getAddress(), probeKey, outcome);
        if (search == null)
            log.debug("no birthday search: this process runs its most, or lacks descriptors");
    }

    /** The UDP channel the QUIC codec sits on. */
    public Channel udp() {
        return udp;
    }

    public PathSwitch paths() {
        return paths;
    }

    public void close() {
        if (!loop.inEventLoop()) {
            loop.execute(this::close);
            return;
        }
        closed = true;
        if (restartTick != null) restartTick.cancel(false);
        if (search != null) search.cancel();
        search = null;
        directSettled.trySuccess(null);
        ready.cancel(false); // its owner closed it: nothing more to wait for
        if (ice != null) ice.close();
        if (relayDial != null) relayDial.cancel(false); // a dial or pairing still in flight
        if (relay != null) relay.close();
        if (udp != null) udp.close();
    }
}
