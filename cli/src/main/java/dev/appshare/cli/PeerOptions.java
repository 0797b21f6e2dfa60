package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;
import picocli.CommandLine.Option;

/** Options shared by share and connect. */
final class PeerOptions {
    static final int DEFAULT_PORT = 7000;

    @Option(
            names = "--server",
            paramLabel = "HOST:PORT",
            description = "Rendezvous server (default: $APPSHARE_SERVER, else 127.0.0.1:7000).")
    String server;

    @Option(
            names = "--transport",
            paramLabel = "MODE",
            defaultValue = "auto",
            description = "auto (default), direct or relay: which paths the tunnel may use.")
    String transport;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log details, and print stack traces on errors.")
    boolean verbose;

    @Option(
            names = {"-q", "--quiet"},
            description =
                    "Print only the lines scripts read (share: Name:, Ports:, URL:; connect:"
                            + " Listening on, Path:): no status line, and no log lines but"
                            + " warnings and errors.")
    boolean quiet;

    InetSocketAddress server() {
        String s = server != null ? server : System.getenv("APPSHARE_SERVER");
        if (s == null || s.isBlank()) s = "127.0.0.1:" + DEFAULT_PORT;
        try {
            return HostPort.parse(s, DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw new PeerException(2, "--server: " + e.getMessage());
        }
    }

    PathOptions paths() {
        try {
            return PathOptions.of(transport());
        } catch (IllegalArgumentException e) {
            throw new PeerException(2, "APPSHARE_ICE_HOSTS: " + e.getMessage());
        }
    }

    Transport transport() {
        try {
            return Transport.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new PeerException(2, e.getMessage());
        }
    }
}
