package dev.appshare.cli;

import dev.appshare.gateway.PublicGateway;
import dev.appshare.peer.PeerException;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.rendezvous.AppshareServer.ListenFailure;
import dev.appshare.rendezvous.AppshareServer.Options;
import dev.appshare.rendezvous.MetricsServer;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.HostPort;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.relay.RelayToken;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

@Command(
        name = "server",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        header = "Run the rendezvous and its fallback relay (and an HTTP gateway, if asked).",
        description = {
            "The rendezvous listens on TCP (default port 7000), the embedded relay on the next"
                    + " port. Run it on a host both peers can reach. Runs until Ctrl-C."
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
            names = "--stun-alt-port",
            paramLabel = "PORT",
            description =
                    "The second STUN port (UDP), on which `appshare doctor` and peers learn whether"
                            + " a NAT maps per destination (default: the --listen port + 1; 0: any"
                            + " free port).")
    Integer stunAltPort;

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
    Path secretFile;

    @Option(
            names = "--http-listen",
            paramLabel = "HOST:PORT",
            description =
                    "Run the public HTTP gateway here: shares started with --public get a URL"
                            + " http://LABEL.DOMAIN:PORT/ (default: no gateway).")
    String httpListen;

    @Option(
            names = "--https-listen",
            paramLabel = "HOST:PORT",
            description =
                    "Run the gateway over HTTPS here (needs --tls-cert and --tls-key); public URLs"
                            + " are then https://LABEL.DOMAIN:PORT/, and --http-listen redirects to"
                            + " it.")
    String httpsListen;

    @Option(
            names = "--tls-cert",
            paramLabel = "FILE",
            description =
                    "PEM certificate chain for *.DOMAIN (with --https-listen); read again on"
                            + " SIGHUP.")
    Path tlsCert;

    @Option(
            names = "--tls-key",
            paramLabel = "FILE",
            description = "PEM private key of --tls-cert (PKCS#8); read again on SIGHUP.")
    Path tlsKey;

    @Option(
            names = "--domain",
            defaultValue = "localhost",
            paramLabel = "DOMAIN",
            description =
                    "The gateway's domain: a wildcard DNS name *.DOMAIN pointing at this server"
                            + " (default localhost: browsers on this machine resolve"
                            + " *.localhost themselves).")
    String domain;

    @Option(
            names = "--metrics-listen",
            paramLabel = "HOST:PORT",
            description =
                    "Serve Prometheus metrics at http://HOST:PORT/metrics and a health check at"
                            + " /healthz (default: none; keep it off the internet).")
    String metricsListen;

    @Option(
            names = {"-v", "--verbose"},
            description = "Log details, and print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress rendezvousAddr = parse("--listen", listen, RENDEZVOUS_PORT);
        RelayToken tokens =
                new RelayToken(
                        RelayCommand.secret(secretFile, externalRelay != null), Clock.systemUTC());
        Options options = Options.of(rendezvousAddr).withPublicHost(publicHost);
        if (stunAltPort != null) {
            if (stunAltPort < 0 || stunAltPort > 65535)
                throw new PeerException(2, "--stun-alt-port: not a port: " + stunAltPort);
            options = options.withStunAltPort(stunAltPort);
        }
        if (externalRelay != null) {
            options =
                    options.withExternalRelay(
                            HostPort.format(parse("--external-relay", externalRelay, RELAY_PORT)));
        } else if (relayListen != null) {
            options = options.withRelayListen(parse("--relay-listen", relayListen, -1));
        }
        InetSocketAddress metricsAt =
                metricsListen == null ? null : parse("--metrics-listen", metricsListen, -1);
        Runner run = new Runner();
        AppshareServer server;
        PublicGateway gateway = null;
        MetricsServer metrics = null;
        ServerStats stats = new ServerStats();
        try {
            if (httpListen != null || httpsListen != null) {
                gateway = PublicGateway.bind(gatewayOptions(), run.group);
                gateway.countInto(stats);
                options = options.withPublicUrls(gateway.urls());
                PublicGateway g = gateway;
                if (httpsListen != null) Signal.handle(new Signal("HUP"), s -> g.reloadTls());
            }
            server = AppshareServer.start(options, tokens, run.group, stats);
            if (metricsAt != null) {
                InetSocketAddress at = metricsAt;
                try {
                    metrics = new MetricsServer(server.rendezvous(), server.relay(), stats);
                    if (gateway != null) {
                        PublicGateway g = gateway;
                        metrics.gauge(
                                "appshare_gateway_visitors",
                                "Visitor connections open to the public gateway now",
                                () -> g.openVisitors());
                        metrics.gauge(
                                "appshare_gateway_paused_streams",
                                "Visitors' tunnel streams not read now because the visitor takes"
                                        + " nothing (PausedStreams)",
                                () -> g.pausedVisitors());
                    }
                    metrics.start(run.group, at);
                } catch (Exception e) { // netty rethrows the bind's IOException unchecked
                    server.close();
                    if (e instanceof InterruptedException) throw e;
                    throw RelayCommand.bindFailure("--metrics-listen", at, e);
                }
            }
        } catch (ListenFailure e) {
            if (gateway != null) gateway.close();
            run.shutdown();
            throw RelayCommand.bindFailure(e.relay() ? "relay" : "--listen", e.address(), e);
        } catch (Exception e) {
            if (gateway != null) gateway.close();
            run.shutdown();
            throw e;
        }
        RendezvousServer rendezvous = server.rendezvous();
        if (gateway != null) {
            // One budget for slow readers in the process: the relay's, if it runs here.
            if (server.relay() != null) gateway.shareHeldBytes(server.relay().heldBytes());
            gateway.attach(rendezvous, gatewayRelay(server));
        }
        RelayServer relay = server.relay();
        String advertised = server.relayAdvertised();
        log.info(
                "rendezvous listening on {}; peers are sent to the relay at {}",
                HostPort.format(rendezvous.localAddress()),
                advertised.startsWith(":") ? "<rendezvous host>" + advertised : advertised);
        System.out.println(
                "Rendezvous on "
                        + HostPort.format(rendezvous.localAddress())
                        + " (STUN on udp "
                        + rendezvous.stunAddress().getPort()
                        + " and "
                        + rendezvous.stunAltAddress().getPort()
                        + ")"
                        + (relay != null
                                ? ", relay on " + HostPort.format(relay.localAddress())
                                : "")
                        + (gateway != null
                                ? ", public gateway on " + gateway.urls().url("*")
                                : ""));
        System.out.flush();
        if (metrics != null)
            log.info("metrics on http://{}/metrics", HostPort.format(metrics.localAddress()));
        return run.awaitStop(metrics, gateway, server);
    }

    private PublicGateway.Options gatewayOptions() {
        if (httpsListen != null && (tlsCert == null || tlsKey == null))
            throw new PeerException(2, "--https-listen needs --tls-cert and --tls-key");
        if (httpsListen == null && (tlsCert != null || tlsKey != null))
            throw new PeerException(2, "--tls-cert and --tls-key go with --https-listen");
        return new PublicGateway.Options(
                httpListen == null ? null : parse("--http-listen", httpListen, -1),
                httpsListen == null ? null : parse("--https-listen", httpsListen, -1),
                gatewayDomain(),
                tlsCert,
                tlsKey);
    }

    private String gatewayDomain() {
        String d = domain.toLowerCase(java.util.Locale.ROOT);
        if (d.endsWith(".")) d = d.substring(0, d.length() - 1);
        if (!d.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"))
            throw new PeerException(2, "--domain: not a domain name: " + domain);
        return d;
    }

    /**
     * Where the gateway dials the relay: the embedded relay on loopback (its own process; the
     * advertised address may not loop back from inside a NAT), else the advertised one relative to
     * the rendezvous.
     */
    private static Function<String, InetSocketAddress> gatewayRelay(AppshareServer server) {
        RelayServer relay = server.relay();
        if (relay != null) {
            InetSocketAddress at = relay.localAddress();
            InetSocketAddress reach =
                    at.getAddress().isAnyLocalAddress()
                            ? new InetSocketAddress(InetAddress.getLoopbackAddress(), at.getPort())
                            : at;
            return field -> reach;
        }
        InetSocketAddress r = server.rendezvous().localAddress();
        InetSocketAddress rendezvous =
                r.getAddress().isAnyLocalAddress()
                        ? new InetSocketAddress(InetAddress.getLoopbackAddress(), r.getPort())
                        : r;
        return field -> dev.appshare.peer.path.RelayAddress.parse(field, rendezvous);
    }

    /** The rendezvous's default port, which a bare host in --listen means. */
    static final int RENDEZVOUS_PORT = 7000;

    /** A standalone relay's default port, which a bare host in --external-relay means. */
    static final int RELAY_PORT = 7001;

    /**
     * Parses an address option; a bare host means {@code defaultPort}, or is refused when it is -1
     * (an option whose port has no natural default: --relay-listen, the gateway's, metrics').
     */
    static InetSocketAddress parse(String option, String value, int defaultPort) {
        try {
            return HostPort.parse(value, defaultPort);
        } catch (IllegalArgumentException e) {
            throw new PeerException(2, option + ": " + e.getMessage() + " (give HOST:PORT)");
        }
    }
}
