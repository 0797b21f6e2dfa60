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
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * This peer's TLS identity for the tunnel: a fresh EC P-256 key pair per process and a self-signed
 * certificate around it. Peers trust each other by the SHA-256 fingerprint of the public key,
 * passed through the rendezvous; names and dates in the certificate mean nothing.
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

    public static PeerIdentity generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair kp = g.generateKeyPair();
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
