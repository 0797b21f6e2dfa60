package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.relay.RelayServer;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "relay",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        header = "Run a standalone fallback relay, for `appshare server --external-relay`.",
        description = {
            "Point `appshare server --external-relay` at it; both must read the same"
                    + " --relay-secret-file. Runs until Ctrl-C."
        })
final class RelayCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RelayCommand.class);

    @Option(
            names = "--listen",
            defaultValue = "0.0.0.0:7001",
            paramLabel = "HOST:PORT",
            description = "Where the relay listens (default 0.0.0.0:7001).")
    String listen;

    @Option(
            names = "--relay-secret-file",
            required = true,
            paramLabel = "FILE",
            description =
                    "Secret shared with the rendezvous that signs relay tokens (at least 16"
                            + " bytes).")
    Path secretFile;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log details, and print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        RelayToken tokens = new RelayToken(secret(secretFile, true), Clock.systemUTC());
        Runner run = new Runner();
        RelayServer relay;
        try {
            relay =
                    bind(
                            new RelayServer(tokens, RelayProtocol.PAIRING_TIMEOUT_MILLIS),
                            run,
                            ServerCommand.parse("--listen", listen, ServerCommand.RELAY_PORT));
        } catch (Exception e) {
            run.shutdown();
            throw e;
        }
        log.info("relay listening on {}", HostPort.format(relay.localAddress()));
        System.out.println("Relay on " + HostPort.format(relay.localAddress()));
        System.out.flush();
        return run.awaitStop(relay);
    }

    static RelayServer bind(RelayServer relay, Runner run, InetSocketAddress addr) {
        try {
            return relay.start(run.group, addr);
        } catch (Exception e) {
            throw bindFailure("relay", addr, e);
        }
    }

    static PeerException bindFailure(String what, InetSocketAddress addr, Exception e) {
        String m = String.valueOf(e.getMessage());
        return new PeerException(
                1,
                "cannot listen on "
                        + HostPort.format(addr)
                        + " ("
                        + what
                        + "): "
                        + (m.contains("in use") ? "the port is already in use" : m));
    }

    static byte[] secret(Path file, boolean required) {
        if (file == null) {
            if (required)
                throw new PeerException(
                        2, "--relay-secret-file is required with a standalone relay");
            return RelayToken.randomSecret();
        }
        try {
            byte[] s = RelayToken.secretFromText(Files.readString(file));
            if (s.length < 16)
                throw new PeerException(
                        2, "the relay secret in " + file + " is shorter than 16 bytes");
            return s;
        } catch (IOException e) {
            throw new PeerException(
                    2, "cannot read the relay secret " + file + ": " + e.getMessage());
        }
    }
}
