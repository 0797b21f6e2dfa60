package dev.appshare.peer.pake;

import static org.junit.jupiter.api.Assertions.*;

import dev.appshare.peer.pake.PakeExchange.Next;
import dev.appshare.peer.pake.PakeExchange.Role;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class PakeExchangeTest {
    static final String SESSION = "3f9c0a7be21d4c58";
    static final String FP_C = "c".repeat(64);
    static final String FP_S = "5".repeat(64);

    /** Runs both sides as the rendezvous would pass their messages; the transcript is kept. */
    record Run(Next connector, Next share, List<byte[]> transcript) {}

    static Run run(PakeExchange c, PakeExchange s) throws PakeExchange.FailedException {
        List<byte[]> t = new ArrayList<>();
        byte[] c1 = c.start(), s1 = s.start();
        t.add(c1);
        t.add(s1);
        Next c2 = c.receive(1, s1), s2 = s.receive(1, c1);
        t.add(c2.reply());
        t.add(s2.reply());
        Next c3 = c.receive(2, s2.reply()), s3 = s.receive(2, c2.reply());
        t.add(c3.reply());
        t.add(s3.reply());
        assertTrue(c.sentConfirmation() && s.sentConfirmation());
        return new Run(c.receive(3, s3.reply()), s.receive(3, c3.reply()), t);
    }

    @Test
    void theSameCodeConfirmsBothKeys() throws Exception {
        Run r =
                run(
                        new PakeExchange(Role.CONNECTOR, SESSION, FP_C, "cheerful-beaver"),
                        new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver"));
        assertEquals(FP_S, r.connector().peerFingerprint());
        assertEquals(FP_C, r.share().peerFingerprint());
    }

    /**
     * The timing in the log lines (scripts/bench reads the connector's): this side's computing
     * counts, each call's; waiting for the other side does not.
     */
    @Test
    void timingCountsThisSidesWorkNotTheWait() throws Exception {
        PakeExchange c = new PakeExchange(Role.CONNECTOR, SESSION, FP_C, "cheerful-beaver");
        PakeExchange s = new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver");
        long afterCreate = c.computeNanos();
        assertTrue(afterCreate > 0);
        byte[] c1 = c.start(), s1 = s.start();
        long afterStart = c.computeNanos();
        assertTrue(afterStart > afterCreate);
        Thread.sleep(200); // the other side thinking, the rendezvous forwarding
        Next c2 = c.receive(1, s1), s2 = s.receive(1, c1);
        assertTrue(c.computeNanos() > afterStart);
        Next c3 = c.receive(2, s2.reply()), s3 = s.receive(2, c2.reply());
        assertTrue(c.receive(3, s3.reply()).confirmed());
        assertTrue(s.receive(3, c3.reply()).confirmed());
        assertTrue(
                c.elapsedNanos() - c.computeNanos() >= 200_000_000L,
                "the wait is not computing: " + c.timing());
        assertTrue(
                c.timing()
                        .matches("[0-9]+\\.[0-9] ms \\([0-9]+\\.[0-9] ms of it computing here\\)"),
                c.timing());
    }

    @Test
    void aWrongCodeFailsOnBothSidesAtTheConfirmation() throws Exception {
        PakeExchange c = new PakeExchange(Role.CONNECTOR, SESSION, FP_C, "cheerful-badger");
        PakeExchange s = new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver");
        byte[] c1 = c.start(), s1 = s.start();
        Next c2 = c.receive(1, s1), s2 = s.receive(1, c1);
        Next c3 = c.receive(2, s2.reply()), s3 = s.receive(2, c2.reply());
        var onConnector =
                assertThrows(PakeExchange.FailedException.class, () -> c.receive(3, s3.reply()));
        var onShare =
                assertThrows(PakeExchange.FailedException.class, () -> s.receive(3, c3.reply()));
        assertTrue(onConnector.wrongCode());
        assertTrue(onShare.wrongCode());
    }

    @Test
    void aPeerClaimingTheSameRoleOrAnotherSessionIsRefusedAtStepOne() {
        PakeExchange s = new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver");
        s.start();
        byte[] otherShare = new PakeExchange(Role.SHARE, SESSION, FP_C, "cheerful-beaver").start();
        assertFalse(
                assertThrows(PakeExchange.FailedException.class, () -> s.receive(1, otherShare))
                        .wrongCode());
        PakeExchange s2 = new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver");
        s2.start();
        byte[] otherSession =
                new PakeExchange(Role.CONNECTOR, "0000000000000001", FP_C, "cheerful-beaver")
                        .start();
        assertThrows(PakeExchange.FailedException.class, () -> s2.receive(1, otherSession));
    }

    /**
     * A man in the middle (the rendezvous) that knows no code runs its own exchange with each side,
     * claiming its own key: the confirmation fails on the side it talks to, whatever it guessed.
     */
    @Test
    void aMiddleThatSubstitutesItsKeyCannotConfirm() throws Exception {
        String mitmFp = "e".repeat(64);
        PakeExchange share = new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver");
        PakeExchange mitm = new PakeExchange(Role.CONNECTOR, SESSION, mitmFp, "merry-otter");
        assertThrows(PakeExchange.FailedException.class, () -> run(mitm, share));
    }

    @Test
    void stepsOutOfOrderOrAfterAFailureAreRefused() {
        PakeExchange c = new PakeExchange(Role.CONNECTOR, SESSION, FP_C, "cheerful-beaver");
        c.start();
        assertThrows(PakeExchange.FailedException.class, () -> c.receive(2, new byte[] {2}));
        assertThrows(PakeExchange.FailedException.class, () -> c.receive(1, new byte[] {1}));
    }

    /**
     * What passes through the rendezvous holds neither the password nor anything derived as text.
     */
    @Test
    void theTranscriptDoesNotCarryThePassword() throws Exception {
        Run r =
                run(
                        new PakeExchange(Role.CONNECTOR, SESSION, FP_C, "cheerful-beaver"),
                        new PakeExchange(Role.SHARE, SESSION, FP_S, "cheerful-beaver"));
        for (byte[] m : r.transcript()) {
            String text = new String(m, StandardCharsets.ISO_8859_1);
            assertFalse(text.contains("cheerful"), HexFormat.of().formatHex(m));
            assertFalse(text.contains("beaver"));
            assertTrue(m.length <= dev.appshare.wire.rendezvous.RendezvousProtocol.MAX_PAKE_BYTES);
        }
    }
}
