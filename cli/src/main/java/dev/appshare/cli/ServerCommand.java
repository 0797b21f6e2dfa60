package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = {
            "Run the rendezvous (TCP, default port 7000) with the fallback relay embedded",
            "(next port). Run it on a host both peers can reach. Runs until Ctrl-C."
        })
final class ServerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);

    @Option(
            names = "--listen",
            defaultValue = "0.0.0.0:7000",
            paramLabel = "HOST:PORT",
            description = "Where the rendezvous listens (default 0.0.0.0:7000).")
    String listen;

    @Option(
            names = "--relay-listen",
            paramLabel = "HOST:PORT",
            description =
                    "Where the embedded relay listens (default: the --listen host, next port).")
    String relayListen;

    @Option(
            names = "--public-host",
            paramLabel = "HOST",
            description =
                    "The address peers use to reach the relay (default: the address they used for"
                            + " the rendezvous).")
    String publicHost;

    @Option(
            names = "--external-relay",
            paramLabel = "HOST:PORT",
            description =
                    "Send peers to this standalone `appshare relay` instead of embedding one (needs"
                            + " --relay-secret-file).")
    String externalRelay;

    @Option(
            names = "--relay-secret-file",
            paramLabel = "FILE",
            description =
                    "Secret shared with standalone relays to sign relay tokens (default: a random"
                            + " one).")
    java.nio.file.Path secretFile;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log details, and print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress rendezvousAddr = parse("--listen", listen);
        RelayToken tokens =
                new RelayToken(
                        RelayCommand.secret(secretFile, externalRelay != null), Clock.systemUTC());
        Runner run = new Runner();
        RelayServer relay = null;
        RendezvousServer rendezvous = null;
        try {
            String advertised;
            if (externalRelay != null) {
                advertised = HostPort.format(parse("--external-relay", externalRelay));
            } else {
                InetSocketAddress relayAddr =
                        relayListen != null
                                ? parse("--relay-listen", relayListen)
                                : InetSocketAddress.createUnresolved(
                                        rendezvousAddr.getHostString(),
                                        rendezvousAddr.getPort() == 0
                                                ? 0
                                                : rendezvousAddr.getPort() + 1);
                relay =
                        RelayCommand.bind(
                                new RelayServer(tokens, RelayProtocol.PAIRING_TIMEOUT_MILLIS),
                                run,
                                relayAddr);
                int port = relay.localAddress().getPort();
                advertised = (publicHost != null ? publicHost : "") + ":" + port;
            }
            RendezvousServer.Config cfg = new RendezvousServer.Config();
            cfg.listen = rendezvousAddr;
            cfg.relayAdvertised = advertised;
            rendezvous = new RendezvousServer(cfg, tokens);
            try {
                rendezvous.start(run.group);
            } catch (Exception e) {
                throw RelayCommand.bindFailure("--listen", rendezvousAddr, e);
            }
            log.info(
                    "rendezvous listening on {}; peers are sent to the relay at {}",
                    HostPort.format(rendezvous.localAddress()),
                    advertised.startsWith(":") ? "<rendezvous host>" + advertised : advertised);
            System.out.println(
                    "Rendezvous on "
                            + HostPort.format(rendezvous.localAddress())
                            + " (STUN on udp "
                            + rendezvous.stunAddress().getPort()
                            + ")"
                            + (relay != null
                                    ? ", relay on " + HostPort.format(relay.localAddress())
                                    : ""));
            System.out.flush();
        } catch (Exception e) {
            if (rendezvous != null) rendezvous.close();
            if (relay != null) relay.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(rendezvous, relay);
    }

    static InetSocketAddress parse(String option, String value) {
        try {
            return HostPort.parse(value, 7000);
        } catch (IllegalArgumentException e) {
            throw new PeerException(2, option + ": " + e.getMessage());
        }
    }
}
