package dev.appshare.peer.tunnel;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Hands this peer's one key and certificate ({@link PeerIdentity}) to the QUIC codec's TLS.
 *
 * <p>Why not {@code QuicSslContextBuilder.keyManager(PrivateKey, ...)}: that puts the key into a
 * PKCS#12 key store and reads it back through a {@code KeyManagerFactory}, which encrypts and
 * decrypts it with PBKDF2 (10,000 HMAC-SHA256 rounds each way in JDK 17) to protect a key that
 * never leaves the process. That cost every tunnel's codec a few ms of CPU warm and ~100 ms cold,
 * on the way to a cold {@code connect}'s first byte and on a share for each peer that connects.
 *
 * <p>Every alias question has one answer, {@link #ALIAS}, when the key type asked for is the
 * identity's (EC); TLS then takes the key and the certificate from here.
 */
final class PeerKeyManager extends X509ExtendedKeyManager {
    static final String ALIAS = "appshare";

    private final PrivateKey key;
    private final X509Certificate[] chain;

    PeerKeyManager(PeerIdentity self) {
        this.key = self.privateKey();
        this.chain = new X509Certificate[] {self.certificate()};
    }

    /** Whether a TLS key type ("EC", or "EC_EC": an EC key in an EC-signed certificate) fits. */
    private boolean fits(String keyType) {
        String algorithm = key.getAlgorithm();
        return keyType != null
                && (keyType.equals(algorithm) || keyType.equals(algorithm + "_" + algorithm));
    }

    private String aliasFor(String... keyTypes) {
        if (keyTypes != null) for (String t : keyTypes) if (fits(t)) return ALIAS;
        return null;
    }

    private String[] aliasesFor(String keyType) {
        return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliasesFor(keyType);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return aliasFor(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine e) {
        return aliasFor(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliasesFor(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine e) {
        return aliasFor(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }
}
