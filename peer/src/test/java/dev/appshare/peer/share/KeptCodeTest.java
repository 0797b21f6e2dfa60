package dev.appshare.peer.share;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.pake.CodeWords;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * share --keep-code's file: round trip, owner-only, refused when others can read it or malformed.
 */
class KeptCodeTest {
    @TempDir Path dir;

    @Test
    void aNewFileIsOwnerOnlyAndRoundTripsKeyWordsAndName() throws Exception {
        Path f = dir.resolve("share.code");
        KeptCode k = KeptCode.open(f, new SecureRandom());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        String[] w = k.words().split("-");
        assertTrue(CodeWords.isAdjective(w[0]) && CodeWords.isAnimal(w[1]), k.words());
        assertNull(k.name(), "no name before the first registration");

        KeptCode again = KeptCode.open(f, new SecureRandom());
        assertEquals(k.words(), again.words());
        assertEquals(k.identity().fingerprint(), again.identity().fingerprint());
        assertArrayEquals(
                k.identity().privateKey().getEncoded(), again.identity().privateKey().getEncoded());

        again.registered("2087");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        KeptCode third = KeptCode.load(f);
        assertEquals("2087", third.name());
        assertEquals(k.words(), third.words());
        assertEquals(k.identity().fingerprint(), third.identity().fingerprint());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void twoNewFilesHaveDifferentKeysAndWordsDrawnAtRandom() {
        KeptCode a = KeptCode.open(dir.resolve("a"), new SecureRandom());
        KeptCode b = KeptCode.open(dir.resolve("b"), new SecureRandom());
        assertNotEquals(a.identity().fingerprint(), b.identity().fingerprint());
        // 1 in 2^19 that two draws agree: a fixed or derived password would always agree
        assertNotEquals(a.words(), b.words());
    }

    @Test
    void aFileOthersCanReadIsRefusedAndLeftAsItIs() throws Exception {
        for (String perms : List.of("rw-r--r--", "rw-r-----", "rw----r--", "rw--w----")) {
            Path f = dir.resolve("open-" + perms);
            KeptCode.open(f, new SecureRandom()).registered("kept-name");
            byte[] before = Files.readAllBytes(f);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
            PeerException e =
                    assertThrows(PeerException.class, () -> KeptCode.open(f, new SecureRandom()));
            assertEquals(2, e.exitCode(), perms);
            assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(f));
        }
    }

    @Test
    void aMalformedFileIsRefusedAndNeverOverwritten() throws Exception {
        Path good = dir.resolve("good");
        KeptCode.open(good, new SecureRandom()).registered("2087");
        String text = Files.readString(good);
        List<String> bad =
                List.of(
                        "",
                        "hello\n",
                        text.replace("appshare-keep-code=1", "appshare-keep-code=9"),
                        text.replaceAll("words=[a-z]+-", "words=notaword-"),
                        text.replace("name=2087", "name=NO SUCH"),
                        text.replaceAll("private-key=\\S+", "private-key=AAAA"),
                        text.replaceAll("public-key=\\S+", "public-key=AAAA"),
                        text + "name=2088\n",
                        text + "colour=blue\n",
                        text + "guesses-spent-until=soon\n",
                        // a key pair that is not one: another file's public key
                        text.replaceAll(
                                "public-key=\\S+",
                                "public-key="
                                        + other().lines()
                                                .filter(l -> l.startsWith("public-key="))
                                                .findFirst()
                                                .orElseThrow()
                                                .substring(11)));
        int i = 0;
        for (String t : bad) {
            Path f = dir.resolve("bad" + i++);
            Files.createFile(
                    f,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
            Files.writeString(f, t, StandardCharsets.UTF_8);
            PeerException e =
                    assertThrows(
                            PeerException.class,
                            () -> KeptCode.open(f, new SecureRandom()),
                            "accepted: " + t);
            assertEquals(2, e.exitCode());
            assertTrue(e.getMessage().contains("is not a kept code"), e.getMessage());
            assertEquals(t, Files.readString(f), "the malformed file was left as it is");
        }
    }

    /**
     * The same password across restarts must not get a fresh guess budget per restart: a restarted
     * share takes on the share-wide budget its last run spent, and a refund (a connector that
     * proved the code) is kept too.
     */
    @Test
    void theSharesGuessBudgetSurvivesARestart() throws Exception {
        GuessLimit.Limits limits =
                new GuessLimit.Limits(100, TimeUnit.HOURS.toNanos(1), 2, TimeUnit.HOURS.toNanos(1));
        InetAddress a = InetAddress.getByName("192.0.2.1");
        InetAddress b = InetAddress.getByName("192.0.2.2");
        Path f = dir.resolve("budget");

        GuessLimit run1 = new GuessLimit(limits, System::nanoTime);
        KeptCode.open(f, new SecureRandom()).keepBudget(run1, System::nanoTime);
        assertEquals(GuessLimit.Verdict.ADMIT, run1.tryAttempt(a));
        assertEquals(GuessLimit.Verdict.ADMIT, run1.tryAttempt(b));
        run1.refund(b); // b proved the code: its token comes back
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));

        GuessLimit run2 = new GuessLimit(limits, System::nanoTime);
        KeptCode.load(f).keepBudget(run2, System::nanoTime);
        assertEquals(GuessLimit.Verdict.ADMIT, run2.tryAttempt(b), "the refunded token");
        assertEquals(
                GuessLimit.Verdict.SHARE_OVER,
                run2.check(InetAddress.getByName("192.0.2.3")),
                "a restart gives no fresh burst");

        GuessLimit run3 = new GuessLimit(limits, System::nanoTime);
        KeptCode.load(f).keepBudget(run3, System::nanoTime);
        assertEquals(GuessLimit.Verdict.SHARE_OVER, run3.check(InetAddress.getByName("192.0.2.4")));
    }

    private String other() throws Exception {
        Path f = dir.resolve("other");
        KeptCode.open(f, new SecureRandom());
        return Files.readString(f);
    }
}
