package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

/**
 * The key manager answers TLS's questions with this peer's identity for its own key type (EC) and
 * with nothing for any other, as the JDK's would for a key store holding that one key. (That the
 * tunnels' mutual TLS works with it, both ways, is every tunnel test.)
 */
class PeerKeyManagerTest {
    private final PeerIdentity self = PeerIdentity.generate();
    private final PeerKeyManager km = new PeerKeyManager(self);

    @Test
    void answersForItsKeyTypeOnly() {
        assertEquals(PeerKeyManager.ALIAS, km.chooseEngineServerAlias("EC", null, null));
        assertEquals(PeerKeyManager.ALIAS, km.chooseEngineServerAlias("EC_EC", null, null));
        assertNull(km.chooseEngineServerAlias("RSA", null, null));
        assertNull(km.chooseEngineServerAlias("EC_RSA", null, null));
        assertNull(km.chooseEngineServerAlias(null, null, null));
        assertEquals(
                PeerKeyManager.ALIAS,
                km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null));
        assertNull(km.chooseEngineClientAlias(new String[] {"RSA", "DSA"}, null, null));
        assertNull(km.chooseEngineClientAlias(null, null, null));
        assertArrayEquals(new String[] {PeerKeyManager.ALIAS}, km.getClientAliases("EC", null));
        assertNull(km.getServerAliases("RSA", null));
    }

    @Test
    void givesTheIdentitysKeyAndCertificateForItsAliasOnly() {
        assertSame(self.privateKey(), km.getPrivateKey(PeerKeyManager.ALIAS));
        X509Certificate[] chain = km.getCertificateChain(PeerKeyManager.ALIAS);
        assertArrayEquals(new X509Certificate[] {self.certificate()}, chain);
        chain[0] = null; // a caller's change to the array is its own
        assertSame(self.certificate(), km.getCertificateChain(PeerKeyManager.ALIAS)[0]);
        assertNull(km.getPrivateKey("other"));
        assertNull(km.getCertificateChain("other"));
    }
}
