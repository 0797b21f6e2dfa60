package dev.appshare.peer.doctor;

import dev.appshare.wire.net.HostPort;

/**
 * The one line {@code appshare doctor} ends with: what a peer on this network can expect (direct
 * with whom, or the relay) and why, from the findings alone. The rules are the NAT lab's
 * (docs/natlab.md): a direct path forms when at least one side can be reached at the address the
 * server saw, which takes a public address, a NAT that lets in what it never sent to, or two NATs
 * that keep one mapping per socket (cone) punching towards each other.
 */
public final class Verdict {
    private Verdict() {}

    public static String of(Findings f) {
        if (!f.serverReachable()) {
            return f.mapped() == null
                    ? "cannot reach the server at "
                            + f.server()
                            + " ("
                            + f.rendezvousError()
                            + "): check the address, and that its TCP and UDP ports are open"
                    : "the server's STUN port answers but its rendezvous port does not ("
                            + f.rendezvousError()
                            + "): share and connect cannot start";
        }
        String relay = relayText(f);
        boolean relayUp = f.relayConnectMillis() != null;
        String why =
                switch (f.natType()) {
                    case UDP_BLOCKED ->
                            relayUp
                                    ? "every peer connects through the relay: UDP to the server"
                                            + " gets no answer (blocked on this network?), and the"
                                            + " relay at "
                                            + relay
                                            + " answers over TCP"
                                    : "no peer can connect: UDP to the server gets no answer and"
                                            + " the relay at "
                                            + relay
                                            + " is unreachable ("
                                            + f.relayError()
                                            + ")";
                    case NONE ->
                            "direct with any peer that can send UDP: this host's address is"
                                    + " public"
                                    + (Boolean.FALSE.equals(f.filteringOpen())
                                            ? " (a firewall lets in only answers, which hole"
                                                    + " punching makes)"
                                            : "");
                    case CONE ->
                            Boolean.TRUE.equals(f.filteringOpen())
                                    ? "direct with any peer that can send UDP: this NAT keeps one"
                                          + " public port per socket and lets in what it never sent"
                                          + " to"
                                    : "direct with peers that have a public address or a cone NAT;"
                                          + " through the relay with a peer whose NAT maps per"
                                          + " destination (symmetric): its port cannot be"
                                          + " predicted, and this NAT lets in only what it sent to";
                    case SYMMETRIC ->
                            "direct only with peers that have a public address (or a NAT that lets"
                                + " anything in); through the relay with peers behind other NATs:"
                                + " this NAT gives every destination a new public port, so the one"
                                + " the server saw is not the one a peer must reach";
                    case UNKNOWN ->
                            "direct with peers that have a public address; with others not"
                                    + " known: the server's second STUN port"
                                    + (f.altPort() > 0 ? " (" + f.altPort() + ")" : "")
                                    + " did not answer, so whether this NAT maps per destination is"
                                    + " not known";
                };
        if (f.natType() != NatType.UDP_BLOCKED && !relayUp) {
            why +=
                    "; and the relay at "
                            + relay
                            + " is unreachable ("
                            + f.relayError()
                            + "), so where no direct path forms, none will";
        }
        return why;
    }

    private static String relayText(Findings f) {
        return f.relayAddress() == null ? "(unknown)" : HostPort.format(f.relayAddress());
    }
}
