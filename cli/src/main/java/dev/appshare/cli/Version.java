package dev.appshare.cli;

import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code --version}: appshare's, the protocols' (compile-time constants, inlined here: no class of
 * theirs loads) and netty's and ice4j's, which the build records in {@code versions.properties}
 * (resource filtering) so that printing them loads neither library.
 */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        Properties v = recorded();
        return new String[] {
            "appshare "
                    + v.getProperty("appshare", "0.1.0")
                    + " (Java "
                    + System.getProperty("java.version")
                    + ")",
            "protocol: rendezvous "
                    + RendezvousProtocol.VERSION
                    + ", tunnel ALPN "
                    + TunnelCodecs.ALPN,
            "netty " + v.getProperty("netty", "?") + ", ice4j " + v.getProperty("ice4j", "?")
        };
    }

    /** The versions the build recorded (empty if the file is missing: a broken build). */
    static Properties recorded() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("versions.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // printed as unknown
        }
        return p;
    }
}
