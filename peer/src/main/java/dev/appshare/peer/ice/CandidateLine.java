package dev.appshare.peer.ice;

import java.net.InetAddress;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.ice.Candidate;
import org.ice4j.ice.CandidateType;
import org.ice4j.ice.Component;
import org.ice4j.ice.RemoteCandidate;

/**
 * One ICE candidate as it travels in a SIGNAL message, like the SDP attribute without the component
 * and transport (always 1 and UDP here): {@code FOUNDATION PRIORITY TYPE ADDRESS PORT}. ADDRESS is
 * a literal IPv4 or IPv6 address, never a name, so decoding never touches DNS.
 */
final class CandidateLine {

    private CandidateLine() {}

    static String encode(Candidate<?> c) {
        TransportAddress a = c.getTransportAddress();
        return c.getFoundation()
                + " "
                + c.getPriority()
                + " "
                + c.getType()
                + " "
                + a.getHostAddress()
                + " "
                + a.getPort();
    }

    /** Parses a peer's candidate; throws IllegalArgumentException on anything malformed. */
    static RemoteCandidate decode(String line, Component component) {
        String[] f = line.split(" ");
        if (f.length != 5) throw new IllegalArgumentException("a candidate has 5 fields");
        if (!f[0].matches("[A-Za-z0-9+/]{1,32}"))
            throw new IllegalArgumentException("bad foundation");
        long priority = Long.parseLong(f[1]);
        if (priority < 1 || priority > 0xFFFFFFFFL)
            throw new IllegalArgumentException("bad priority");
        CandidateType type =
                switch (f[2]) {
                    case "host" -> CandidateType.HOST_CANDIDATE;
                    case "srflx" -> CandidateType.SERVER_REFLEXIVE_CANDIDATE;
                    case "prflx" -> CandidateType.PEER_REFLEXIVE_CANDIDATE;
                    default ->
                            throw new IllegalArgumentException(
                                    "unsupported candidate type " + f[2]);
                };
        InetAddress address = HostAddresses.literal(f[3]);
        int port = Integer.parseInt(f[4]);
        if (port < 1 || port > 65535) throw new IllegalArgumentException("bad port");
        return new RemoteCandidate(
                new TransportAddress(address, port, Transport.UDP),
                component,
                type,
                f[0],
                priority,
                null);
    }
}
