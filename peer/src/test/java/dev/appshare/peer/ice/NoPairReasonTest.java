package dev.appshare.peer.ice;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Each reason ICE gives for no pair, from what was seen; earlier reasons win over later ones. */
class NoPairReasonTest {
    /** Everything went as it should, and still no pair validated. */
    private static final NoPairReason.Seen NOTHING_ODD =
            new NoPairReason.Seen(false, true, true, true, true, true, true, false);

    @Test
    void checksTimedOutWhenNothingElseExplainsIt() {
        assertEquals(
                "checks timed out: the NATs filter or remap the peers' packets",
                NoPairReason.of(NOTHING_ODD));
        // Gathering not finished, or no STUN server at all: not evidence of blocked UDP here.
        assertEquals(
                NoPairReason.of(NOTHING_ODD),
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, false, false, true, true, true, false)));
        assertEquals(
                NoPairReason.of(NOTHING_ODD),
                NoPairReason.of(
                        new NoPairReason.Seen(false, false, true, false, true, true, true, false)));
        // The other side not done sending: its missing srflx may still come.
        assertEquals(
                NoPairReason.of(NOTHING_ODD),
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, true, true, true, false, false, false)));
    }

    @Test
    void otherSideRelayOnlyWinsOverEverything() {
        assertEquals(
                "the other peer takes no direct paths",
                NoPairReason.of(
                        new NoPairReason.Seen(true, true, true, false, false, true, false, true)));
    }

    @Test
    void noServerReflexiveAddressHere() {
        assertEquals(
                "no server-reflexive address: the rendezvous's STUN did not answer, UDP looks"
                        + " blocked here",
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, true, false, false, true, false, true)));
    }

    @Test
    void nothingFromTheOtherSide() {
        assertEquals(
                "the other peer sent no ICE candidates",
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, true, true, false, true, false, true)));
    }

    @Test
    void noServerReflexiveAddressOnTheOtherSide() {
        assertEquals(
                "the other peer has no server-reflexive address: UDP looks blocked on its side",
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, true, true, true, true, false, true)));
    }

    @Test
    void symmetricNat() {
        assertEquals(
                "a NAT maps each destination to a new port (symmetric NAT)",
                NoPairReason.of(
                        new NoPairReason.Seen(false, true, true, true, true, true, true, true)));
    }

    private static NoPairReason.Seen mappings(
            NatMapping here, NatMapping there, boolean symmetricSeen) {
        return new NoPairReason.Seen(
                false, true, true, true, true, true, true, symmetricSeen, here, there);
    }

    @Test
    void bothHardSaysHardPlusHard() {
        assertEquals(
                "both NATs map each destination to a new port (hard+hard): neither side can know"
                        + " where the other's packets will come from",
                NoPairReason.of(mappings(NatMapping.VARIES, NatMapping.VARIES, true)));
    }

    @Test
    void oneHardSideSaysWhichOne() {
        assertEquals(
                "this side's NAT maps each destination to a new port (a hard NAT), and the other"
                        + " side's lets in only what it sent to",
                NoPairReason.of(mappings(NatMapping.VARIES, NatMapping.SAME, false)));
        assertEquals(
                "the other peer's NAT maps each destination to a new port (a hard NAT), and this"
                        + " side's lets in only what it sent to",
                NoPairReason.of(mappings(NatMapping.SAME, NatMapping.VARIES, false)));
        assertEquals(
                "the other peer's NAT maps each destination to a new port (a hard NAT)",
                NoPairReason.of(mappings(NatMapping.UNKNOWN, NatMapping.VARIES, false)));
    }

    @Test
    void unknownMappingsFallBackToWhatTheCandidatesShowed() {
        assertEquals(
                "a NAT maps each destination to a new port (symmetric NAT)",
                NoPairReason.of(mappings(NatMapping.UNKNOWN, NatMapping.UNKNOWN, true)));
        assertEquals(
                NoPairReason.of(NOTHING_ODD),
                NoPairReason.of(mappings(NatMapping.SAME, NatMapping.SAME, false)));
    }

    @Test
    void aPeerThatTakesNoDirectPathOutranksTheMappings() {
        assertEquals(
                "the other peer takes no direct paths",
                NoPairReason.of(
                        new NoPairReason.Seen(
                                true,
                                true,
                                true,
                                true,
                                true,
                                true,
                                true,
                                false,
                                NatMapping.VARIES,
                                NatMapping.VARIES)));
    }
}
