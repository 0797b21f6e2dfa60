package dev.appshare.peer.ice;

/**
 * Whether this side's NAT gives every destination a new public port (docs/protocol.md, "ICE over
 * SIGNAL", {@code map=}): learned by asking the rendezvous's two STUN ports from the tunnel's own
 * socket ({@link MappingProbe}) and told to the other peer, so that either side can say why no
 * direct path formed, and so that a later birthday search knows which side is the hard one.
 */
public enum NatMapping {
    /** Both ports saw one public address: an easy NAT (or none), which hole punching handles. */
    SAME("same"),
    /** The two ports saw different public addresses: a hard (symmetric) NAT. */
    VARIES("varies"),
    /** Not known: a port did not answer, or no second port was offered. */
    UNKNOWN("unknown");

    private final String word;

    NatMapping(String word) {
        this.word = word;
    }

    /** The SIGNAL field's value. */
    public String word() {
        return word;
    }

    /** The value of a {@code map=} field; anything else is UNKNOWN. */
    public static NatMapping of(String word) {
        if (SAME.word.equals(word)) return SAME;
        if (VARIES.word.equals(word)) return VARIES;
        return UNKNOWN;
    }
}
