package dev.appshare.peer.share;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.wire.rendezvous.ProtocolException;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code share --keep-code FILE}: the share's key and code, kept so that a restarted share comes
 * back under the same code. The file holds the EC P-256 key pair (the identity the rendezvous knows
 * the name by, the TLS key connectors pin, and the source of a public share's URL label), the
 * password words (drawn with a SecureRandom when the file is created, as for any share) and the
 * name the rendezvous gave (written once the first registration answers). A restarted share
 * registers that name with that key: the rendezvous hands a name back to the key that owns it, and
 * keeps it reserved for 5 min after the share leaves. The share's guess budget ({@link GuessLimit})
 * is kept too: a restart does not give a guesser a fresh burst against the same password.
 *
 * <p>The file is a secret (whoever reads it can prove the code and take the name): it is created
 * owner-only (0600) and refused when group or others have any access to it. A file that does not
 * parse is refused and never overwritten. Format: {@code key=value} lines, {@code #} comments.
 */
public final class KeptCode {
    private static final Logger log = LoggerFactory.getLogger(KeptCode.class);
    static final String MAGIC = "appshare-keep-code";
    static final String VERSION = "1";

    private static final Set<PosixFilePermission> OWNER_ONLY =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    private static final List<String> KEYS =
            List.of(MAGIC, "words", "name", "guesses-spent-until", "private-key", "public-key");

    private final Path file;
    private final PeerIdentity identity;
    private final KeyPair keyPair;
    private final String words;
    private volatile String name;
    private volatile long spentUntilMillis; // the share's guess budget, epoch ms; 0: none saved

    private KeptCode(Path file, KeyPair keyPair, String words, String name) {
        this.file = file;
        this.keyPair = keyPair;
        this.identity = PeerIdentity.of(keyPair);
        this.words = words;
        this.name = name;
    }

    /**
     * The code kept in {@code file}, or, when there is no such file, a new one (a fresh key pair
     * and fresh words drawn from {@code random}) written there at once, owner-only.
     *
     * @throws PeerException exit code 2 when the file is readable by others or malformed, 1 when it
     *     cannot be read or written
     */
    public static KeptCode open(Path file, SecureRandom random) {
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) return load(file);
        KeptCode k = new KeptCode(file, newKeyPair(random), CodeWords.draw(random), null);
        try {
            k.write(false);
        } catch (FileAlreadyExistsException e) {
            return load(file); // another process created it meanwhile: use (and check) it
        } catch (IOException e) {
            throw new PeerException(
                    1, "cannot create --keep-code file " + file + ": " + describe(e));
        }
        return k;
    }

    /** Reads and checks a kept code (see {@link #open}). */
    public static KeptCode load(Path file) {
        checkPermissions(file);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new PeerException(2, "--keep-code file " + file + " does not exist");
        } catch (IOException e) {
            throw new PeerException(1, "cannot read --keep-code file " + file + ": " + describe(e));
        }
        Map<String, String> fields = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) continue;
            int eq = l.indexOf('=');
            String key = eq < 0 ? l : l.substring(0, eq);
            if (eq < 0 || !KEYS.contains(key))
                throw malformed(file, "line " + lineNo + " is not KEY=VALUE, KEY one of " + KEYS);
            if (fields.put(key, l.substring(eq + 1)) != null)
                throw malformed(file, "line " + lineNo + " repeats " + key);
        }
        if (!VERSION.equals(fields.get(MAGIC)))
            throw malformed(file, "it has no " + MAGIC + "=" + VERSION + " line");
        String words = fields.get("words");
        String[] w = words == null ? new String[0] : words.split("-", -1);
        if (w.length != 2 || !CodeWords.isAdjective(w[0]) || !CodeWords.isAnimal(w[1]))
            throw malformed(file, "words= is not an ADJECTIVE-ANIMAL pair of appshare's lists");
        String name = fields.get("name");
        if (name != null && name.isEmpty()) name = null;
        if (name != null && !name.matches(RendezvousProtocol.NAME_PATTERN))
            throw malformed(file, "name= is not a share name");
        long spent = 0;
        String g = fields.get("guesses-spent-until");
        if (g != null) {
            try {
                spent = Long.parseLong(g);
            } catch (NumberFormatException e) {
                spent = -1;
            }
            if (spent < 0) throw malformed(file, "guesses-spent-until= is not a time");
        }
        KeptCode k = new KeptCode(file, keyPair(file, fields), words, name);
        k.spentUntilMillis = spent;
        return k;
    }

    private static KeyPair keyPair(Path file, Map<String, String> fields) {
        PublicKey pub;
        try {
            pub = RegistrationProof.decodeKey(fields.get("public-key"));
        } catch (ProtocolException e) {
            throw malformed(file, "public-key= is not an EC P-256 public key");
        }
        PrivateKey priv;
        try {
            String p = fields.get("private-key");
            if (p == null) throw new IllegalArgumentException("missing");
            priv =
                    KeyFactory.getInstance("EC")
                            .generatePrivate(
                                    new PKCS8EncodedKeySpec(Base64.getUrlDecoder().decode(p)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw malformed(file, "private-key= is not an EC private key");
        }
        // The two must be one pair: sign with the private key, check with the public one.
        String nonce = RegistrationProof.nonce(new SecureRandom());
        boolean pair;
        try {
            pair = RegistrationProof.verify(pub, nonce, RegistrationProof.sign(priv, nonce));
        } catch (RuntimeException e) {
            pair = false;
        }
        if (!pair) throw malformed(file, "private-key= and public-key= are not one key pair");
        return new KeyPair(pub, priv);
    }

    /** Refuses a file that group or others can access: it holds the share's key and password. */
    private static void checkPermissions(Path file) {
        PosixFileAttributeView view =
                Files.getFileAttributeView(file, PosixFileAttributeView.class);
        if (view == null) return; // not a POSIX file system: nothing to check this way
        Set<PosixFilePermission> perms;
        try {
            perms = view.readAttributes().permissions();
        } catch (NoSuchFileException e) {
            throw new PeerException(2, "--keep-code file " + file + " does not exist");
        } catch (IOException e) {
            throw new PeerException(1, "cannot read --keep-code file " + file + ": " + describe(e));
        }
        Set<PosixFilePermission> open = EnumSet.noneOf(PosixFilePermission.class);
        for (PosixFilePermission p : perms) if (!p.name().startsWith("OWNER_")) open.add(p);
        if (!open.isEmpty())
            throw new PeerException(
                    2,
                    "--keep-code file "
                            + file
                            + " is accessible to others ("
                            + PosixFilePermissions.toString(perms)
                            + "): it holds the share's key and password; refusing it. Make it"
                            + " owner-only: chmod 600 "
                            + file);
    }

    private static PeerException malformed(Path file, String why) {
        return new PeerException(
                2,
                "--keep-code file "
                        + file
                        + " is not a kept code ("
                        + why
                        + "); it was left as it is: fix it, or give another file");
    }

    private static KeyPair newKeyPair(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot create the share's key: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the file atomically: a temporary file created owner-only in the same directory, then
     * linked (a new file: fails if one appeared meanwhile) or moved over the old one.
     */
    private synchronized void write(boolean replace) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp;
        if (Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null) {
            tmp =
                    Files.createTempFile(
                            dir,
                            "." + file.getFileName() + ".",
                            ".tmp",
                            PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
            tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        }
        try {
            Files.writeString(tmp, text(), StandardCharsets.UTF_8);
            try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            if (replace) {
                Files.move(
                        tmp,
                        file,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } else {
                try {
                    Files.createLink(file, tmp);
                } catch (UnsupportedOperationException | AccessDeniedException noLinks) {
                    if (Files.exists(file)) throw new FileAlreadyExistsException(file.toString());
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String text() {
        StringBuilder b = new StringBuilder();
        b.append(
                "# appshare share --keep-code: this share's key and code. Whoever reads this"
                        + " file\n");
        b.append("# can take over the share's name and knows its password: keep it owner-only.\n");
        b.append("# Delete it to get a new code (and a new key).\n");
        b.append(MAGIC).append('=').append(VERSION).append('\n');
        b.append("words=").append(words).append('\n');
        if (name != null) b.append("name=").append(name).append('\n');
        if (spentUntilMillis > 0)
            b.append("guesses-spent-until=").append(spentUntilMillis).append('\n');
        b.append("private-key=")
                .append(
                        Base64.getUrlEncoder()
                                .withoutPadding()
                                .encodeToString(keyPair.getPrivate().getEncoded()))
                .append('\n');
        b.append("public-key=")
                .append(RegistrationProof.encodeKey(keyPair.getPublic()))
                .append('\n');
        return b.toString();
    }

    /**
     * The rendezvous registered the share under {@code name}: keeps it in the file (rewritten
     * atomically) when it is new, so that the next run asks for it.
     */
    public void registered(String name) throws IOException {
        if (name.equals(this.name)) return;
        this.name = name;
        write(true);
    }

    /**
     * Keeps the share's guess budget across runs: a restarted share takes on the budget its last
     * run saved (the password is the same, so a restart must not hand a guesser a fresh burst), and
     * every spend or refund is written back. Wall-clock time in the file, {@code nanoTime} in the
     * limit. A guess whose write fails still counts in this run; the failure is logged.
     */
    public void keepBudget(GuessLimit limit, LongSupplier nanoTime) {
        long saved = spentUntilMillis;
        if (saved > 0) {
            long aheadMillis = saved - System.currentTimeMillis();
            limit.restoreShare(nanoTime.getAsLong() + TimeUnit.MILLISECONDS.toNanos(aheadMillis));
        }
        limit.onShareChange(
                () -> {
                    long aheadNanos = limit.shareSpentUntilNanos() - nanoTime.getAsLong();
                    spentUntilMillis =
                            Math.max(
                                    1,
                                    System.currentTimeMillis()
                                            + TimeUnit.NANOSECONDS.toMillis(aheadNanos));
                    try {
                        write(true);
                    } catch (IOException e) {
                        log.warn(
                                "could not save the guess budget to --keep-code file {}: {}",
                                file,
                                describe(e));
                    }
                });
    }

    public Path file() {
        return file;
    }

    public PeerIdentity identity() {
        return identity;
    }

    /** The password words, {@code adjective-animal}. */
    public String words() {
        return words;
    }

    /** The name the rendezvous gave last time, or null (not yet registered). */
    public String name() {
        return name;
    }

    private static String describe(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
