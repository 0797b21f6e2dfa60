package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * {@code --version}'s lines: the versions the build recorded are those of the libraries it runs.
 */
class VersionTest {
    @Test
    void printsTheProtocolsAndTheLibrariesItRunsWith() throws Exception {
        String[] lines = new Version().getVersion();
        assertEquals(3, lines.length);
        assertTrue(lines[0].startsWith("appshare "), lines[0]);
        assertEquals(
                "protocol: rendezvous "
                        + RendezvousProtocol.VERSION
                        + ", tunnel ALPN "
                        + TunnelCodecs.ALPN,
                lines[1]);
        String netty = io.netty.util.Version.identify().get("netty-common").artifactVersion();
        // ice4j's jar names its version (ice4j-VERSION.jar); its manifest does not
        String jar =
                Path.of(
                                org.ice4j.Transport.class
                                        .getProtectionDomain()
                                        .getCodeSource()
                                        .getLocation()
                                        .toURI())
                        .getFileName()
                        .toString();
        assertTrue(jar.startsWith("ice4j-") && jar.endsWith(".jar"), jar);
        String ice4j = jar.substring("ice4j-".length(), jar.length() - ".jar".length());
        assertEquals("netty " + netty + ", ice4j " + ice4j, lines[2]);
    }
}
