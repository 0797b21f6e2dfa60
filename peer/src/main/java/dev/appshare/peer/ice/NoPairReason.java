package dev.appshare.peer.ice;

import java.util.List;
import org.ice4j.ice.Candidate;
import org.ice4j.ice.CandidateType;

/**
 * Why no ICE pair formed, in one line, from what each side gathered and learned. A pure function of
 * {@link Seen}, so that every reason can be tested without a network.
 */
final class NoPairReason {
    private NoPairReason() {}

    /**
     * What a session saw by the time it gave up.
     *
     * @param otherSideOff the other peer sent {@code ice=off}
     * @param stunConfigured this side had a STUN server to ask
     * @param localGatheringDone this side's candidate gathering finished
     * @param localHadSrflx this side found a server-reflexive address
     * @param remoteCredentials the other peer's ICE credentials arrived
     * @param remoteEnded the other peer sent its end-of-candidates
     * @param remoteHadSrflx the other peer sent a server-reflexive candidate
     * @param symmetricNatSeen see {@link #symmetricNatSeen}
     * @param localMapping this side's NAT's mapping, from the server's two STUN ports
     * @param remoteMapping the other peer's, as it said ({@code map=})
     */
    record Seen(
            boolean otherSideOff,
            boolean stunConfigured,
            boolean localGatheringDone,
            boolean localHadSrflx,
            boolean remoteCredentials,
            boolean remoteEnded,
            boolean remoteHadSrflx,
            boolean symmetricNatSeen,
            NatMapping localMapping,
            NatMapping remoteMapping) {

        /** Without the mappings (a server with one STUN port, or an older peer). */
        Seen(
                boolean otherSideOff,
                boolean stunConfigured,
                boolean localGatheringDone,
                boolean localHadSrflx,
                boolean remoteCredentials,
                boolean remoteEnded,
                boolean remoteHadSrflx,
                boolean symmetricNatSeen) {
            this(
                    otherSideOff,
                    stunConfigured,
                    localGatheringDone,
                    localHadSrflx,
                    remoteCredentials,
                    remoteEnded,
                    remoteHadSrflx,
                    symmetricNatSeen,
                    NatMapping.UNKNOWN,
                    NatMapping.UNKNOWN);
        }
    }

    /** The most likely reason first: each later one assumes the earlier ones did not apply. */
    static String of(Seen s) {
        if (s.otherSideOff()) return "the other peer takes no direct paths";
        if (s.stunConfigured() && s.localGatheringDone() && !s.localHadSrflx()) {
            return "no server-reflexive address: the rendezvous's STUN did not answer, UDP looks"
                    + " blocked here";
        }
        if (!s.remoteCredentials()) return "the other peer sent no ICE candidates";
        if (s.remoteEnded() && !s.remoteHadSrflx()) {
            return "the other peer has no server-reflexive address: UDP looks blocked on its side";
        }
        boolean hereHard = s.localMapping() == NatMapping.VARIES;
        boolean thereHard = s.remoteMapping() == NatMapping.VARIES;
        if (hereHard && thereHard) {
            return "both NATs map each destination to a new port (hard+hard): neither side can"
                    + " know where the other's packets will come from";
        }
        if (hereHard) {
            return "this side's NAT maps each destination to a new port (a hard NAT)"
                    + (s.remoteMapping() == NatMapping.SAME
                            ? ", and the other side's lets in only what it sent to"
                            : "");
        }
        if (thereHard) {
            return "the other peer's NAT maps each destination to a new port (a hard NAT)"
                    + (s.localMapping() == NatMapping.SAME
                            ? ", and this side's lets in only what it sent to"
                            : "");
        }
        if (s.symmetricNatSeen()) {
            return "a NAT maps each destination to a new port (symmetric NAT)";
        }
        return "checks timed out: the NATs filter or remap the peers' packets";
    }

    /**
     * A peer-reflexive address on the same IP as a server-reflexive one, other port: a NAT that
     * maps each destination to a new port.
     */
    static boolean symmetricNatSeen(List<? extends Candidate<?>> candidates) {
        for (Candidate<?> p : candidates) {
            if (p.getType() != CandidateType.PEER_REFLEXIVE_CANDIDATE) continue;
            for (Candidate<?> s : candidates) {
                if (s.getType() == CandidateType.SERVER_REFLEXIVE_CANDIDATE
                        && s.getTransportAddress()
                                .getAddress()
                                .equals(p.getTransportAddress().getAddress())
                        && s.getTransportAddress().getPort() != p.getTransportAddress().getPort()) {
                    return true;
                }
            }
        }
        return false;
    }
}
