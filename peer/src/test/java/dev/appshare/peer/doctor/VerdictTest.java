package dev.appshare.peer.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The NAT type and the verdict from measurements: every type the lab has, and what a peer behind it
 * is told to expect.
 */
class VerdictTest {
    private static final InetSocketAddress RELAY = new InetSocketAddress("198.51.100.10", 7001);
    private static final ServerHello.Welcome WELCOME = new ServerHello.Welcome("2", ":7001", 7001);

    private static Findings findings(
            InetSocketAddress mapped,
            InetSocketAddress viaAlt,
            boolean own,
            Boolean filteringOpen,
            boolean relayUp) {
        return new Findings(
                "198.51.100.10:7000",
                WELCOME,
                null,
                0.2,
                RELAY,
                relayUp ? 0.3 : null,
                relayUp ? null : "connection refused",
                40000,
                mapped,
                viaAlt,
                7001,
                mapped == null ? null : 0.4,
                own,
                filteringOpen,
                null,
                1472,
                List.of(548, 1472),
                List.of(),
                null,
                "the server has no IPv6 address");
    }

    private static InetSocketAddress at(int port) {
        return new InetSocketAddress("198.51.100.21", port);
    }

    @Test
    void noNat() {
        Findings f = findings(at(40000), at(40000), true, true, true);
        assertEquals(NatType.NONE, f.natType());
        assertTrue(Verdict.of(f).startsWith("direct with any peer that can send UDP"));
    }

    @Test
    void aPortRestrictedConeIsDirectWithConesAndRelayedWithSymmetric() {
        Findings f = findings(at(40000), at(40000), false, false, true);
        assertEquals(NatType.CONE, f.natType());
        assertEquals(Boolean.TRUE, f.portPreserved());
        String v = Verdict.of(f);
        assertTrue(v.startsWith("direct with peers that have a public address or a cone NAT"), v);
        assertTrue(v.contains("through the relay with a peer whose NAT maps per destination"), v);
    }

    @Test
    void aConeThatLetsAnythingInIsDirectWithAnyone() {
        Findings f = findings(at(40000), at(40000), false, true, true);
        assertTrue(Verdict.of(f).startsWith("direct with any peer"), Verdict.of(f));
    }

    @Test
    void symmetricIsDirectOnlyWithPublicAddresses() {
        Findings f = findings(at(51234), at(62345), false, false, true);
        assertEquals(NatType.SYMMETRIC, f.natType());
        assertEquals(Boolean.FALSE, f.portPreserved());
        assertTrue(Verdict.of(f).startsWith("direct only with peers that have a public address"));
    }

    @Test
    void noAnswerFromTheSecondPortLeavesTheMappingUnknown() {
        Findings f = findings(at(40000), null, false, false, true);
        assertEquals(NatType.UNKNOWN, f.natType());
        assertTrue(Verdict.of(f).contains("second STUN port (7001) did not answer"));
    }

    @Test
    void udpBlockedMeansTheRelayOrNothing() {
        Findings relayed = findings(null, null, false, null, true);
        assertEquals(NatType.UDP_BLOCKED, relayed.natType());
        assertTrue(Verdict.of(relayed).startsWith("every peer connects through the relay"));
        Findings stuck = findings(null, null, false, null, false);
        assertTrue(Verdict.of(stuck).startsWith("no peer can connect"), Verdict.of(stuck));
    }

    @Test
    void aDeadRelayIsNamedWhateverTheNat() {
        String v = Verdict.of(findings(at(40000), at(40000), false, false, false));
        assertTrue(v.endsWith("so where no direct path forms, none will"), v);
    }
}
