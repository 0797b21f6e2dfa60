package dev.appshare.peer.trust;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The deployment the trust tests attack: a real {@link RendezvousServer} and {@link RelayServer}
 * (what {@code AppshareServer} composes) on 127.0.0.1, whose clock ({@link
 * RendezvousServer.Config#nanoTime}: name reservations, budgets) the test can move forward, and
 * which stops and starts again on the same ports; and real Sharers and Connectors in this JVM, each
 * given the rendezvous address the test chooses (the server itself, or a proxy in front of it).
 */
final class TrustLab implements AutoCloseable {
    static {
        // ice4j logs through java.util.logging: into slf4j, at WARN, as the command line does.
        LogManager.getLogManager().reset();
        SLF4JBridgeHandler.install();
        Logger.getLogger("").setLevel(Level.WARNING);
    }

    final EventLoopGroup group = EventLoops.newGroup(2);
    final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    private final AtomicLong clockOffset = new AtomicLong();
    final LongSupplier nanoTime = () -> System.nanoTime() + clockOffset.get();
    private final String relayAdvertised;
    private final long relayPairingMillis;
    private final ClientLimits limits;
    private final List<AutoCloseable> peers = new CopyOnWriteArrayList<>();
    RendezvousServer rendezvous;
    private RelayServer relay;
    private int port;

    /** With the relay advertised as itself and a short pairing timeout. */
    TrustLab() throws Exception {
        this(null, 5_000);
    }

    /**
     * @param relayAdvertised where peers are told the relay is (null: the relay itself, as :PORT)
     */
    TrustLab(String relayAdvertised, long relayPairingMillis) throws Exception {
        this(relayAdvertised, relayPairingMillis, ClientLimits.oneAddressLab());
    }

    /**
     * @param limits the rendezvous's budgets ({@link ClientLimits#oneAddressLab()} unless a test
     *     puts its attackers on other addresses and wants the production budgets)
     */
    TrustLab(String relayAdvertised, long relayPairingMillis, ClientLimits limits)
            throws Exception {
        this.relayAdvertised = relayAdvertised;
        this.relayPairingMillis = relayPairingMillis;
        this.limits = limits;
        Random r = new Random();
        for (int attempt = 0; ; attempt++) {
            // below Linux's ephemeral range, so no client socket takes it between stop and start
            port = 20_000 + 2 * r.nextInt(6_000);
            try {
                startServer();
                return;
            } catch (Exception taken) {
                if (attempt > 50) throw taken;
            }
        }
    }

    void startServer() throws Exception {
        RelayServer rel =
                new RelayServer(tokens, relayPairingMillis)
                        .start(group, new InetSocketAddress("127.0.0.1", port + 1));
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = new InetSocketAddress("127.0.0.1", port);
        cfg.relayAdvertised = relayAdvertised != null ? relayAdvertised : ":" + (port + 1);
        cfg.handshakeTimeoutMillis = 3_000;
        cfg.limits = limits;
        cfg.nanoTime = nanoTime;
        try {
            rendezvous = new RendezvousServer(cfg, tokens).start(group);
        } catch (Exception e) {
            rel.close();
            throw e;
        }
        relay = rel;
    }

    void stopServer() {
        rendezvous.close();
        relay.close();
    }

    /** Stops both servers and starts new ones on the same ports (retrying while a port frees). */
    void restartServer() throws Exception {
        stopServer();
        for (int attempt = 0; ; attempt++) {
            try {
                startServer();
                return;
            } catch (Exception stillTaken) {
                if (attempt >= 50) throw stillTaken;
                Thread.sleep(100);
            }
        }
    }

    /** Moves the servers' clock forward (name reservations, budgets). */
    void advanceClock(long millis) {
        clockOffset.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    InetSocketAddress server() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    InetSocketAddress relayAddress() {
        return new InetSocketAddress("127.0.0.1", port + 1);
    }

    static PathOptions paths(Transport transport, Supplier<ChannelHandler> tap) {
        return new PathOptions(
                transport,
                HostAddresses.loopback(),
                PathOptions.ICE_TIMEOUT_MILLIS,
                tap,
                Resolver.JDK);
    }

    /** A share of 127.0.0.1:{@code port} through {@code via}, not started yet. */
    Sharer sharer(
            InetSocketAddress via,
            int targetPort,
            String name,
            GuessLimit.Limits limits,
            PathOptions paths,
            Console console) {
        Sharer s =
                new Sharer(
                        new Sharer.Config(
                                via,
                                List.of(new InetSocketAddress("127.0.0.1", targetPort)),
                                name,
                                paths,
                                limits),
                        group,
                        console);
        peers.add(s);
        return s;
    }

    /** A share through the rendezvous itself, relay only, default limits: started. */
    Sharer share(int targetPort, String name, Console console) throws Exception {
        Sharer s =
                sharer(
                        server(),
                        targetPort,
                        name,
                        GuessLimit.Limits.DEFAULTS,
                        paths(Transport.RELAY, null),
                        console);
        s.start().get(20, TimeUnit.SECONDS);
        return s;
    }

    /** A connector for {@code code} through {@code via}, listening on 127.0.0.1:0, not started. */
    Connector connector(InetSocketAddress via, String code, PathOptions paths, Console console) {
        Connector c =
                new Connector(
                        new Connector.Config(
                                via, code, new InetSocketAddress("127.0.0.1", 0), paths),
                        group,
                        console);
        peers.add(c);
        return c;
    }

    /** A relay-only connector for {@code code} through {@code via}, its lines kept: not started. */
    Connector relayConnector(InetSocketAddress via, String code) {
        return connector(via, code, paths(Transport.RELAY, null), new Services.Lines());
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable p : peers) {
            try {
                p.close();
            } catch (Exception ignored) {
                // closed by the test already
            }
        }
        try {
            stopServer();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
