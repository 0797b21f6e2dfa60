package dev.appshare.peer.ice;

import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.NetworkText;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.beans.PropertyChangeEvent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.ice.Agent;
import org.ice4j.ice.CandidatePair;
import org.ice4j.ice.CandidatePairState;
import org.ice4j.ice.CandidateType;
import org.ice4j.ice.Component;
import org.ice4j.ice.IceMediaStream;
import org.ice4j.ice.IceProcessingState;
import org.ice4j.ice.KeepAliveStrategy;
import org.ice4j.ice.LocalCandidate;
import org.ice4j.ice.RemoteCandidate;
import org.ice4j.ice.harvest.StunCandidateHarvester;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICE negotiation with ice4j, signalled through the rendezvous in SIGNAL messages (see
 * docs/protocol.md): our credentials and host candidates go out at once, server-reflexive ones as
 * the rendezvous's STUN answers (trickle), then {@code end=1}. Checks start once the peer has sent
 * its end-of-candidates (or {@value #REMOTE_END_WAIT_MILLIS} ms after its first candidate), so a
 * peer's slow STUN cannot make all early pairs fail before its reflexive candidate is known. The
 * connector is the controlling agent. Agent calls run on one of {@link IceThreads}'s shared threads
 * (ice4j adds its own); results reach the listener on the tunnel's event loop. At most {@link
 * IceThreads#MAX_SESSIONS} sessions run at once per process: see {@link #open}.
 */
public final class IceSession {
    private static final Logger log = LoggerFactory.getLogger(IceSession.class);
    public static final long REMOTE_END_WAIT_MILLIS = 2_000;

    static {
        // Before any ice4j class loads: otherwise its first Agent probes the cloud metadata
        // address.
        if (System.getProperty("ice4j.harvest.mapping.aws.enabled") == null) {
            System.setProperty("ice4j.harvest.mapping.aws.enabled", "false");
        }
    }

    static final long LINGER_AFTER_COMPLETION_MILLIS = 10_000;

    /** Slots an ICE restart leaves to first negotiations (see {@link IceThreads#MAX_SESSIONS}). */
    public static final int RESERVED_FOR_FIRST = 2;

    /** ICE sessions one process runs at once: see {@link IceThreads#MAX_SESSIONS}. */
    public static final int MAX_SESSIONS = IceThreads.MAX_SESSIONS;

    /** Told, on the event loop, when ICE has validated a pair or given up. */
    public interface Listener {
        void validated(
                InetSocketAddress local,
                InetSocketAddress remote,
                String localType,
                String remoteType);

        void failed(String why);

        /**
         * Both sides' NAT mappings are known ({@code map=}), and the other peer's public address
         * (its first server-reflexive candidate): what a birthday search needs. Once, if ever.
         */
        default void mappingsKnown(
                NatMapping local,
                NatMapping remote,
                InetSocketAddress remoteReflexive,
                boolean easySideBehindNat) {}
    }

    /** Sends SIGNAL fields to the other peer (the session id is added by the caller). */
    public interface Signals {
        void send(String... keyValues);
    }

    private final boolean controlling;
    private final IceDemuxHandler demux;
    private final List<InetAddress> hosts;
    private final InetSocketAddress stunServer;
    private final EventLoop loop;
    private final Signals out;
    private final Listener listener;
    private final long timeoutMillis;
    private final EventExecutor ops; // every agent call happens here, in order
    private Agent agent;
    private IceMediaStream stream;
    private Component component;
    private final RemoteSignals remote = new RemoteSignals();
    private boolean checking;
    private boolean localHadSrflx;
    private boolean localGatheringDone;
    private NatMapping localMapping = NatMapping.UNKNOWN;
    private boolean mappingsTold;
    private ScheduledFuture<?> startLater;
    private ScheduledFuture<?> backstop;
    private ScheduledFuture<?> giveUp;
    private boolean finished; // agent freed
    private final AtomicBoolean holdsSlot = new AtomicBoolean(true);
    private volatile boolean done;
    private long startedNanos;

    /**
     * A session holding one of the process's {@link IceThreads#MAX_SESSIONS} slots until it ends,
     * or null when all are taken: the caller then runs without ICE (and tells the other peer, with
     * {@code ice=busy}, not to wait for it). {@code reserve}: slots left free for others (an ICE
     * restart leaves {@value #RESERVED_FOR_FIRST} to the first negotiations of new tunnels; those
     * pass 0).
     */
    public static IceSession open(
            boolean controlling,
            IceDemuxHandler demux,
            List<InetAddress> hosts,
            InetSocketAddress stunServer,
            EventLoop loop,
            long timeoutMillis,
            Signals out,
            Listener listener,
            int reserve) {
        if (!IceThreads.tryAcquire(reserve)) return null;
        return new IceSession(
                controlling, demux, hosts, stunServer, loop, timeoutMillis, out, listener);
    }

    private IceSession(
            boolean controlling,
            IceDemuxHandler demux,
            List<InetAddress> hosts,
            InetSocketAddress stunServer,
            EventLoop loop,
            long timeoutMillis,
            Signals out,
            Listener listener) {
        this.controlling = controlling;
        this.demux = demux;
        this.hosts = hosts;
        this.stunServer = stunServer;
        this.loop = loop;
        this.timeoutMillis = timeoutMillis;
        this.out = out;
        this.listener = listener;
        this.ops = IceThreads.agentExecutor();
    }

    /** Takes every free session slot until closed, as if that many sessions ran. */
    public static AutoCloseable testOnlyTakeAllSlots() {
        return IceThreads.testOnlyTakeAllSlots();
    }

    /** ICE sessions running in this process now (each holds a slot until its agent is freed). */
    public static int testOnlyRunning() {
        return IceThreads.testOnlyRunning();
    }

    /**
     * Loads ice4j's classes off the critical path (the first Agent in a JVM costs most of a
     * second).
     */
    public static void warmUp() {
        Thread t =
                new Thread(
                        () -> {
                            try {
                                new Agent().free();
                            } catch (RuntimeException | LinkageError e) {
                                log.debug("ICE warm-up failed: {}", e.toString());
                            }
                        },
                        "ice-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Gathers and sends our candidates; the socket under {@code demux} must be bound. {@code stun}
     * is the STUN server's address, already looked up (the caller's resolver, off the event loops);
     * unresolved or null, no reflexive candidate is gathered.
     */
    public void start(InetSocketAddress stun) {
        start(stun, -1);
    }

    /**
     * As {@link #start(InetSocketAddress)}; with {@code stunAltPort} (the server's second STUN
     * port, -1 if it named none) this side also learns whether its NAT maps per destination and
     * tells the other peer ({@code map=}, {@link MappingProbe}).
     */
    public void start(InetSocketAddress stun, int stunAltPort) {
        startedNanos = System.nanoTime();
        run(() -> gather(stun, stunAltPort));
        run(
                () -> {
                    // A backstop: the peer may never answer. The real deadline starts with its
                    // credentials, as the two peers start ICE at different moments (the connector
                    // after its tunnel is up).
                    if (done) return;
                    backstop =
                            ops.schedule(
                                    () ->
                                            fail(
                                                    "no ICE answer from the other peer within "
                                                            + 2 * timeoutMillis / 1000
                                                            + " s ("
                                                            + reasonGuess()
                                                            + ")"),
                                    2 * timeoutMillis,
                                    TimeUnit.MILLISECONDS);
                });
    }

    private void gather(InetSocketAddress stun, int stunAltPort) {
        if (done) return;
        agent = new Agent();
        agent.setControlling(controlling);
        agent.setUseDynamicPorts(false);
        agent.setTrickling(true);
        agent.addCandidateHarvester(new SharedSocketHarvester(demux, hosts));
        if (stun != null && !stun.isUnresolved()) {
            agent.addCandidateHarvester(
                    new StunCandidateHarvester(
                            new TransportAddress(
                                    stun.getAddress(), stun.getPort(), Transport.UDP)));
        }
        agent.addStateChangeListener(this::stateChanged);
        try {
            stream = agent.createMediaStream("tunnel");
            stream.addPairChangeListener(this::pairChanged);
            component = agent.createComponent(stream, KeepAliveStrategy.SELECTED_ONLY, false);
        } catch (Exception e) {
            fail("could not set up ICE: " + e.getMessage());
            return;
        }
        out.send("ufrag", agent.getLocalUfrag(), "pwd", agent.getLocalPassword());
        for (LocalCandidate c : component.getLocalCandidates()) sendCandidate(c);
        learnMapping(stun, stunAltPort);
        // Reflexive candidates trickle in from another thread: ice4j's STUN harvest blocks until
        // done.
        Agent gathering = agent;
        try {
            IceThreads.blocking()
                    .execute(
                            () -> {
                                try {
                                    gathering.startCandidateTrickle(
                                            found -> run(() -> trickled(found)));
                                } catch (RuntimeException e) {
                                    log.debug("ICE trickle failed: {}", e.toString());
                                    run(() -> trickled(null));
                                }
                            });
        } catch (RejectedExecutionException e) {
            log.debug("ICE: no thread free for the reflexive harvest");
            trickled(null);
        }
        for (RendezvousMessage m : remote.takeEarly()) onRemote(m);
    }

    /** Starts asking both STUN ports from the tunnel's socket, if there are two (MappingProbe). */
    private void learnMapping(InetSocketAddress stun, int stunAltPort) {
        if (stun == null || stun.isUnresolved() || stunAltPort <= 0) return;
        for (LocalCandidate c : component.getLocalCandidates()) {
            if (c.getType() != CandidateType.HOST_CANDIDATE
                    || c.getTransportAddress().getAddress().getClass()
                            != stun.getAddress().getClass()) continue;
            MappingProbe.start(
                    agent.getStunStack(),
                    c.getTransportAddress(),
                    stun,
                    stunAltPort,
                    found -> run(() -> mappingLearned(found)));
            return;
        }
    }

    private void mappingLearned(NatMapping found) {
        if (done) return;
        localMapping = found;
        log.debug("ICE: this side's NAT mapping: {}", found.word());
        if (found != NatMapping.UNKNOWN) out.send("map", found.word());
        tellMappings();
    }

    /**
     * Tells the listener both mappings, the other peer's address, and whether the side whose NAT
     * keeps one mapping per socket is behind a NAT at all (its server-reflexive address is not one
     * of its own): once all are known. Both peers compute the same answer from what both know, so
     * that they agree on whether a birthday search replaces ICE.
     */
    private void tellMappings() {
        NatMapping theirs = remote.mapping();
        InetSocketAddress reflexive = remote.firstReflexive();
        if (mappingsTold
                || done
                || localMapping == NatMapping.UNKNOWN
                || theirs == NatMapping.UNKNOWN
                || reflexive == null
                || !localGatheringDone) return;
        mappingsTold = true;
        NatMapping ours = localMapping;
        boolean easyNatted =
                ours == NatMapping.SAME
                        ? localReflexiveIsForeign()
                        : !remote.offeredHost(reflexive.getAddress());
        loop.execute(() -> listener.mappingsKnown(ours, theirs, reflexive, easyNatted));
    }

    /**
     * Whether this side's server-reflexive address is not one of its host addresses (ice4j drops a
     * reflexive candidate equal to a host one, so none at all means no NAT too).
     */
    private boolean localReflexiveIsForeign() {
        java.util.Set<InetAddress> hosts = new java.util.HashSet<>();
        InetAddress reflexive = null;
        for (LocalCandidate c : component.getLocalCandidates()) {
            InetAddress a = c.getTransportAddress().getAddress();
            if (c.getType() == CandidateType.HOST_CANDIDATE) hosts.add(a);
            else if (c.getType() == CandidateType.SERVER_REFLEXIVE_CANDIDATE && reflexive == null)
                reflexive = a;
        }
        return reflexive != null && !hosts.contains(reflexive);
    }

    private void trickled(Collection<LocalCandidate> found) {
        if (done) return;
        if (found == null) {
            if (localGatheringDone) return;
            localGatheringDone = true;
            tellMappings();
            log.debug(
                    "ICE: gathering done in {} ms{}",
                    millisSinceStart(),
                    localHadSrflx
                            ? ""
                            : " (no server-reflexive address: the rendezvous's STUN did not"
                                    + " answer)");
            out.send("end", "1");
            return;
        }
        for (LocalCandidate c : found) sendCandidate(c);
    }

    private void sendCandidate(LocalCandidate c) {
        if (c.getType() == CandidateType.SERVER_REFLEXIVE_CANDIDATE) localHadSrflx = true;
        log.debug("ICE: local candidate {}", CandidateLine.encode(c));
        out.send("cand", CandidateLine.encode(c));
    }

    /** A SIGNAL from the other peer; any thread. Malformed fields are logged and ignored. */
    public void remote(RendezvousMessage m) {
        run(() -> onRemote(m));
    }

    private void run(Runnable r) {
        ops.execute(r);
    }

    private void onRemote(RendezvousMessage m) {
        if (done || !remote.admit()) return;
        if (agent == null) { // a SIGNAL that beat our own start: replayed once the agent exists
            remote.holdEarly(m);
            return;
        }
        if (remote.off(m)) {
            fail(
                    remote.isBusy()
                            ? "the other peer already runs its most ICE negotiations at once"
                            : "the other peer does not take direct paths (it runs with --transport"
                                    + " relay)");
            return;
        }
        remote.mapping(m);
        tellMappings();
        RemoteSignals.Credentials credentials = remote.credentials(m);
        if (credentials != null) {
            stream.setRemoteUfrag(credentials.ufrag());
            stream.setRemotePassword(credentials.pwd());
            giveUp =
                    ops.schedule(
                            () ->
                                    fail(
                                            "no pair validated within "
                                                    + timeoutMillis / 1000
                                                    + " s ("
                                                    + reasonGuess()
                                                    + ")"),
                            timeoutMillis,
                            TimeUnit.MILLISECONDS);
        }
        String cand = m.get("cand");
        if (cand != null) {
            try {
                RemoteCandidate rc = CandidateLine.decode(cand, component);
                if (!remote.admitCandidate(rc)) {
                    log.debug("ICE: ignoring remote candidate {} (over the budget)", cand);
                    return;
                }
                log.debug("ICE: remote candidate {}", cand);
                tellMappings();
                if (checking) {
                    component.addUpdateRemoteCandidates(rc);
                    component.updateRemoteCandidates();
                } else {
                    component.addRemoteCandidate(rc);
                    if (startLater == null) {
                        startLater =
                                ops.schedule(
                                        this::startChecks,
                                        REMOTE_END_WAIT_MILLIS,
                                        TimeUnit.MILLISECONDS);
                    }
                }
            } catch (RuntimeException e) {
                log.debug(
                        "ICE: ignoring a bad remote candidate '{}': {}",
                        NetworkText.printable(cand),
                        NetworkText.printable(e.getMessage()));
            }
        }
        if (remote.end(m)) startChecks();
    }

    private void startChecks() {
        if (done
                || checking
                || !remote.hasCredentials()
                || component.getRemoteCandidateCount() == 0) return;
        checking = true;
        if (startLater != null) startLater.cancel(false);
        log.debug(
                "ICE: checking {} local x {} remote candidates ({})",
                component.getLocalCandidateCount(),
                component.getRemoteCandidateCount(),
                controlling ? "controlling" : "controlled");
        agent.startConnectivityEstablishment();
    }

    private void stateChanged(PropertyChangeEvent e) {
        if (!Agent.PROPERTY_ICE_PROCESSING_STATE.equals(e.getPropertyName())) return;
        IceProcessingState s = (IceProcessingState) e.getNewValue();
        if (s == IceProcessingState.COMPLETED) {
            run(this::completed);
        } else if (s == IceProcessingState.FAILED) {
            run(() -> fail("connectivity checks failed (" + reasonGuess() + ")"));
        }
    }

    private void pairChanged(PropertyChangeEvent e) {
        if (!IceMediaStream.PROPERTY_PAIR_STATE_CHANGED.equals(e.getPropertyName())) return;
        CandidatePair p = (CandidatePair) e.getSource();
        CandidatePairState s = (CandidatePairState) e.getNewValue();
        if (s == CandidatePairState.SUCCEEDED || s == CandidatePairState.FAILED) {
            log.debug(
                    "ICE: pair {} -> {} {}",
                    HostPort.literal(p.getLocalCandidate().getTransportAddress()),
                    HostPort.literal(p.getRemoteCandidate().getTransportAddress()),
                    s);
        }
    }

    private void completed() {
        if (done) return;
        CandidatePair pair = component.getSelectedPair();
        if (pair == null) return;
        done = true;
        TransportAddress l = pair.getLocalCandidate().getTransportAddress();
        TransportAddress r = pair.getRemoteCandidate().getTransportAddress();
        InetSocketAddress local = new InetSocketAddress(l.getAddress(), l.getPort());
        InetSocketAddress remote = new InetSocketAddress(r.getAddress(), r.getPort());
        String lt = pair.getLocalCandidate().getType().toString();
        String rt = pair.getRemoteCandidate().getType().toString();
        log.debug(
                "ICE: selected {} ({}) <-> {} ({}) after {} ms",
                HostPort.literal(local),
                lt,
                HostPort.literal(remote),
                rt,
                millisSinceStart());
        // The agent stays a while to answer the peer's last checks (it may complete later than we
        // did), then goes with its threads: the path layer's probes keep the pair open from here
        // on.
        cancelTimers();
        ops.schedule(this::finish, LINGER_AFTER_COMPLETION_MILLIS, TimeUnit.MILLISECONDS);
        loop.execute(() -> listener.validated(local, remote, lt, rt));
    }

    private void fail(String why) {
        if (done) return;
        done = true;
        log.debug("ICE: gave up after {} ms: {}", millisSinceStart(), why);
        finish();
        loop.execute(() -> listener.failed(why));
    }

    /** Our best explanation of why no pair validated, from what each side gathered and learned. */
    private String reasonGuess() {
        return NoPairReason.of(
                new NoPairReason.Seen(
                        remote.isOff(),
                        stunServer != null,
                        localGatheringDone,
                        localHadSrflx,
                        remote.hasCredentials(),
                        remote.hasEnded(),
                        remote.hadSrflx(),
                        component != null
                                && (NoPairReason.symmetricNatSeen(component.getLocalCandidates())
                                        || NoPairReason.symmetricNatSeen(
                                                component.getRemoteCandidates())),
                        localMapping,
                        remote.mapping()));
    }

    private long millisSinceStart() {
        return (System.nanoTime() - startedNanos) / 1_000_000;
    }

    /** Frees the agent (and its threads) and gives back the slot; once. */
    private void finish() {
        if (finished) return;
        finished = true;
        cancelTimers();
        freeAgent();
        releaseSlot();
    }

    private void releaseSlot() {
        if (holdsSlot.compareAndSet(true, false)) IceThreads.release();
    }

    private void cancelTimers() {
        for (ScheduledFuture<?> f : new ScheduledFuture<?>[] {backstop, giveUp, startLater}) {
            if (f != null) f.cancel(false);
        }
    }

    private void freeAgent() {
        Agent a = agent;
        agent = null;
        if (a != null) {
            try {
                a.free();
            } catch (RuntimeException e) {
                log.debug("ICE: freeing the agent: {}", e.toString());
            }
        }
    }

    /**
     * Ends ICE (the direct path, if any, stays usable: it is only a 5-tuple). Any thread. The slot
     * is given back at once, so that a restart that follows finds it free; the agent goes on its
     * own thread.
     */
    public void close() {
        done = true;
        releaseSlot();
        run(
                () -> {
                    done = true;
                    finish();
                });
    }
}
