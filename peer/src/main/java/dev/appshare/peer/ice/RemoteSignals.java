package dev.appshare.peer.ice;

import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.ice4j.ice.CandidateType;
import org.ice4j.ice.RemoteCandidate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the other peer told one session over SIGNAL (see docs/protocol.md, "ICE over SIGNAL"), and
 * the budgets that keep a hostile peer from making it grow. Used only on the session's ICE thread.
 */
public final class RemoteSignals {
    private static final Logger log = LoggerFactory.getLogger(RemoteSignals.class);

    /**
     * Remote host and reflexive candidates taken, and SIGNALs read at all, per session. Separate
     * candidate budgets, so that many host addresses cannot crowd out the reflexive candidate that
     * NAT traversal needs (it is trickled last).
     */
    public static final int MAX_REMOTE_HOSTS = 24;

    public static final int MAX_REMOTE_REFLEXIVE = 8;
    public static final int MAX_REMOTE_SIGNALS = RendezvousProtocol.MAX_SIGNALS_PER_SESSION;

    /** ice4j's own credential alphabet and lengths; anything else is not from ice4j. */
    private static final String UFRAG_PATTERN = "[A-Za-z0-9+/]{4,256}";

    private static final String PWD_PATTERN = "[A-Za-z0-9+/]{22,256}";

    /** The other peer's ICE credentials. */
    record Credentials(String ufrag, String pwd) {}

    private int signals;
    private int hosts;
    private int reflexive;
    private final List<RendezvousMessage> early = new ArrayList<>(); // within the SIGNAL budget
    private boolean off;
    private boolean busy;
    private boolean credentials;
    private boolean ended;
    private boolean hadSrflx;
    private NatMapping mapping = NatMapping.UNKNOWN;
    private InetSocketAddress firstReflexive;
    private final java.util.Set<java.net.InetAddress> hostAddresses = new java.util.HashSet<>();

    /** Counts one SIGNAL; false past the budget (logged once). */
    boolean admit() {
        if (++signals <= MAX_REMOTE_SIGNALS) return true;
        if (signals == MAX_REMOTE_SIGNALS + 1)
            log.debug("ICE: ignoring the peer's SIGNALs past {}", MAX_REMOTE_SIGNALS);
        return false;
    }

    /** Keeps a SIGNAL that arrived before our agent existed, for {@link #takeEarly}. */
    void holdEarly(RendezvousMessage m) {
        early.add(m);
    }

    /** The SIGNALs held so far, uncounted: each is admitted again when it is replayed. */
    List<RendezvousMessage> takeEarly() {
        List<RendezvousMessage> held = new ArrayList<>(early);
        signals -= held.size();
        early.clear();
        return held;
    }

    /**
     * Whether {@code m} says the other peer takes no direct path ({@code ice=off}: it runs with
     * --transport relay; {@code ice=busy}: it runs its most ICE sessions at once); remembered.
     */
    boolean off(RendezvousMessage m) {
        String ice = m.get("ice");
        if ("off".equals(ice) || "busy".equals(ice)) {
            off = true;
            busy = "busy".equals(ice);
        }
        return off;
    }

    /** Whether the other peer's {@code ice=off} was {@code ice=busy}. */
    boolean isBusy() {
        return busy;
    }

    /** The credentials {@code m} carries, if well-formed and the first; else null. */
    Credentials credentials(RendezvousMessage m) {
        String ufrag = m.get("ufrag");
        String pwd = m.get("pwd");
        if (ufrag == null
                || pwd == null
                || credentials
                || !ufrag.matches(UFRAG_PATTERN)
                || !pwd.matches(PWD_PATTERN)) return null;
        credentials = true;
        return new Credentials(ufrag, pwd);
    }

    /** Whether a decoded remote candidate is within its type's budget; counts it if so. */
    boolean admitCandidate(RemoteCandidate rc) {
        boolean host = rc.getType() == CandidateType.HOST_CANDIDATE;
        if (host ? ++hosts > MAX_REMOTE_HOSTS : ++reflexive > MAX_REMOTE_REFLEXIVE) return false;
        if (host) hostAddresses.add(rc.getTransportAddress().getAddress());
        if (rc.getType() == CandidateType.SERVER_REFLEXIVE_CANDIDATE) {
            hadSrflx = true;
            if (firstReflexive == null)
                firstReflexive =
                        new InetSocketAddress(
                                rc.getTransportAddress().getAddress(),
                                rc.getTransportAddress().getPort());
        }
        return true;
    }

    /** Whether {@code m} is the other peer's end-of-candidates; remembered. */
    boolean end(RendezvousMessage m) {
        if (!"1".equals(m.get("end"))) return false;
        ended = true;
        return true;
    }

    /** Remembers the other peer's {@code map=} (its NAT's mapping), if {@code m} carries one. */
    void mapping(RendezvousMessage m) {
        NatMapping said = NatMapping.of(m.get("map"));
        if (said != NatMapping.UNKNOWN) mapping = said;
    }

    /** What the other peer said of its NAT's mapping; UNKNOWN until it says. */
    NatMapping mapping() {
        return mapping;
    }

    /** Whether the other peer offered {@code a} as a host candidate's address. */
    boolean offeredHost(java.net.InetAddress a) {
        return hostAddresses.contains(a);
    }

    /** The other peer's first server-reflexive candidate's address: its public address. */
    InetSocketAddress firstReflexive() {
        return firstReflexive;
    }

    boolean isOff() {
        return off;
    }

    boolean hasCredentials() {
        return credentials;
    }

    boolean hasEnded() {
        return ended;
    }

    boolean hadSrflx() {
        return hadSrflx;
    }
}
