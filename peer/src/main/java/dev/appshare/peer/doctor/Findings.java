package dev.appshare.peer.doctor;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Everything one {@code appshare doctor} run measured. Null means "not measured" (it could not be:
 * for example no mapping test when UDP gets no answer); each check's failure is kept in words.
 *
 * @param server the server as given (HOST:PORT)
 * @param rendezvous TCP to the rendezvous and its WELCOME; null with {@code rendezvousError}
 * @param rendezvousRttMillis the quicker of two TCP connects to the rendezvous: one round trip
 * @param relayAddress where the server sends peers for the relay, resolved against the server
 * @param relayConnectMillis the quicker of two TCP connects to the relay; null with {@code
 *     relayError}
 * @param localPort the UDP port of the socket the mapping was measured with
 * @param mapped the public address the server's first STUN port saw; null: UDP got no answer
 * @param mappedViaAlt the one its second port saw from the same socket; null: no answer
 * @param altPort the second STUN port asked (OTHER-ADDRESS, else WELCOME's), -1 if unknown
 * @param stunMillis the round trip of a STUN question to the first port
 * @param publicAddress the mapped address is one of this host's own
 * @param filteringOpen whether an answer from the port a fresh socket never sent to got in
 * @param hairpin whether a datagram to our own public address came back; null where no NAT
 * @param largestPayload the largest UDP payload answered at the same size, 0 if none
 * @param triedPayloads the payload sizes tried, smallest first
 * @param ipv6Addresses this host's global IPv6 addresses
 * @param ipv6Mapped the public IPv6 address the server saw; null: not asked or no answer
 * @param ipv6Note why IPv6 was not asked, or what happened
 */
public record Findings(
        String server,
        ServerHello.Welcome rendezvous,
        String rendezvousError,
        Double rendezvousRttMillis,
        InetSocketAddress relayAddress,
        Double relayConnectMillis,
        String relayError,
        int localPort,
        InetSocketAddress mapped,
        InetSocketAddress mappedViaAlt,
        int altPort,
        Double stunMillis,
        boolean publicAddress,
        Boolean filteringOpen,
        Boolean hairpin,
        int largestPayload,
        List<Integer> triedPayloads,
        List<String> ipv6Addresses,
        InetSocketAddress ipv6Mapped,
        String ipv6Note) {

    /** The network as the lab names it; see {@link NatType}. */
    public NatType natType() {
        if (mapped == null) return NatType.UDP_BLOCKED;
        if (publicAddress) return NatType.NONE;
        if (mappedViaAlt == null) return NatType.UNKNOWN;
        return mapped.equals(mappedViaAlt) ? NatType.CONE : NatType.SYMMETRIC;
    }

    /** The server answered over TCP: what the exit status says. */
    public boolean serverReachable() {
        return rendezvous != null;
    }

    /** The mapping kept the local port (null where it was not measured or there is no NAT). */
    public Boolean portPreserved() {
        if (mapped == null || publicAddress) return null;
        return mapped.getPort() == localPort;
    }
}
