package dev.appshare.peer.tunnel;

import dev.appshare.wire.rendezvous.RegistrationProof;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * This peer's TLS identity for the tunnel: a fresh EC P-256 key pair per process (or a share's kept
 * one, {@link #of}) and a self-signed certificate around it. Peers trust each other by the SHA-256
 * fingerprint of the public key, passed through the rendezvous; names and dates in the certificate
 * mean nothing.
 */
public final class PeerIdentity {
    private final PrivateKey privateKey;
    private final X509Certificate certificate;
    private final String fingerprint;

    private PeerIdentity(PrivateKey privateKey, X509Certificate certificate) {
        this.privateKey = privateKey;
        this.certificate = certificate;
        this.fingerprint = fingerprint(certificate.getPublicKey());
    }

    /** One identity made ahead by {@link #prepare}, until a {@link #generate} takes it. */
    private static final AtomicReference<CompletableFuture<PeerIdentity>> PREPARED =
            new AtomicReference<>();

    /**
     * Starts making an identity on a background thread for the next {@link #generate} or {@link
     * #generateAsync} to take: a cold process's first one costs hundreds of ms (BouncyCastle's
     * classes, the EC key pair), which then overlap with the rest of the start-up. Once per process
     * is enough (later calls do nothing while one waits).
     */
    public static CompletableFuture<PeerIdentity> prepare() {
        CompletableFuture<PeerIdentity> f = new CompletableFuture<>();
        if (!PREPARED.compareAndSet(null, f)) return PREPARED.get();
        Thread t =
                new Thread(
                        () -> {
                            try {
                                f.complete(create());
                            } catch (RuntimeException | Error e) {
                                f.completeExceptionally(e);
                            }
                        },
                        "appshare-identity");
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** A fresh identity: the prepared one if there is one (waiting for it), else made now. */
    public static PeerIdentity generate() {
        CompletableFuture<PeerIdentity> f = PREPARED.getAndSet(null);
        if (f != null) {
            try {
                return f.join();
            } catch (CompletionException | CancellationException e) {
                // made again here, so that a failure is reported as create() reports it
            }
        }
        return create();
    }

    /**
     * A fresh identity, not waiting: the prepared one (perhaps still being made), else one made
     * now. The future fails as {@link #generate} throws.
     */
    public static CompletableFuture<PeerIdentity> generateAsync() {
        CompletableFuture<PeerIdentity> f = PREPARED.getAndSet(null);
        if (f != null) return f;
        try {
            return CompletableFuture.completedFuture(create());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static PeerIdentity create() {
        KeyPair kp;
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            kp = g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(
                    "cannot create this peer's TLS key: " + e.getMessage(), e);
        }
        return of(kp);
    }

    /**
     * The identity of a key pair kept from an earlier run ({@code share --keep-code}), with a fresh
     * self-signed certificate around it: only the key's fingerprint matters to the peers and the
     * rendezvous, so the same key is the same share (and the same public URL label).
     */
    public static PeerIdentity of(KeyPair kp) {
        try {
            X500Name subject = new X500Name("CN=appshare peer");
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b =
                    new JcaX509v3CertificateBuilder(
                            subject,
                            new BigInteger(64, new SecureRandom()),
                            Date.from(now.minus(Duration.ofDays(1))),
                            Date.from(now.plus(Duration.ofDays(365))),
                            subject,
                            kp.getPublic());
            ContentSigner signer =
                    new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate());
            X509Certificate cert =
                    new JcaX509CertificateConverter().getCertificate(b.build(signer));
            return new PeerIdentity(kp.getPrivate(), cert);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException(
                    "cannot create this peer's TLS key: " + e.getMessage(), e);
        }
    }

    /**
     * SHA-256 over the DER SubjectPublicKeyInfo, lower-case hex: the same fingerprint that owns a
     * share's name on the rendezvous ({@link RegistrationProof#fingerprint}), defined there once.
     */
    public static String fingerprint(PublicKey key) {
        return RegistrationProof.fingerprint(key);
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public String fingerprint() {
        return fingerprint;
    }
}
