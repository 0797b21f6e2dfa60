package dev.appshare.peer.doctor;

/**
 * What {@code appshare doctor} calls a network, in the words of the NAT lab's types
 * (docs/natlab.md), from what it measured ({@link Findings#natType}).
 */
public enum NatType {
    /** The server saw one of this host's own addresses: no NAT on the way. */
    NONE("none"),
    /** A NAT that keeps one public address and port for a socket, whatever the destination. */
    CONE("cone"),
    /** A NAT that gives every destination a new public port (maps per destination). */
    SYMMETRIC("symmetric"),
    /** No UDP answer from the server at all. */
    UDP_BLOCKED("udp-blocked"),
    /** UDP works, but the second STUN port did not answer, so the mapping is not known. */
    UNKNOWN("unknown");

    private final String word;

    NatType(String word) {
        this.word = word;
    }

    /** The lab's word for it: none, cone, symmetric, udp-blocked, unknown. */
    public String word() {
        return word;
    }
}
