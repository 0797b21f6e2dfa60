package dev.appshare.peer.tunnel;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts exactly one public key: the one whose fingerprint the code's PAKE confirmed (the other
 * peer proved the code and that this is its key; see PakeExchange). No CA, no host name: the tunnel
 * is between two processes that proved the code to each other a moment ago.
 */
public final class PinnedKeyTrustManager extends X509ExtendedTrustManager {
    private final byte[] expected;

    public PinnedKeyTrustManager(String fingerprintHex) {
        this.expected = HexFormat.of().parseHex(fingerprintHex);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0)
            throw new CertificateException("peer sent no certificate");
        byte[] got = HexFormat.of().parseHex(PeerIdentity.fingerprint(chain[0].getPublicKey()));
        if (!MessageDigest.isEqual(expected, got)) {
            throw new CertificateException("peer key is not the one the code's PAKE confirmed");
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket s)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e)
            throws CertificateException {
        check(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
