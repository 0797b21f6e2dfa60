package dev.appshare.peer.e2e;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.KeptCode;
import dev.appshare.peer.share.Sharer;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.rendezvous.AppshareServer.ListenFailure;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * A whole appshare deployment in one JVM on loopback: a rendezvous with its relay, and any number
 * of sharers and connectors, each a real netty server or client on real sockets.
 */
public final class Lab implements AutoCloseable {
    static {
        // ice4j logs through java.util.logging: into slf4j, at WARN, as the command line does.
        LogManager.getLogManager().reset();
        SLF4JBridgeHandler.install();
        Logger.getLogger("").setLevel(Level.WARNING);
    }

    public final EventLoopGroup group = EventLoops.newGroup(2);
    public final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    public AppshareServer servers;
    public RelayServer relay;
    public RendezvousServer rendezvous;
    private int rendezvousPort;
    private int relayPort;
    private String relayAdvertised;
    private final long relayPairingTimeoutMillis;
    private final ClientLimits limits;
    private final List<AutoCloseable> peers = new ArrayList<>();
    public final List<String> consoleLines = new CopyOnWriteArrayList<>();

    /** The paths peers started from now on may use; tests of the relay alone keep the default. */
    public Transport transport = Transport.RELAY;

    /** When set, shares use this instead of {@link #transport}. */
    public Transport shareTransport;

    /** The host candidates ICE offers (loopback only: tests stay on this machine). */
    public List<InetAddress> hostAddresses = HostAddresses.loopback();

    /** How peers started from now on look host names up. */
    public Resolver resolver = Resolver.JDK;

    /**
     * When set, peers started from now on are given the rendezvous by this name (which {@link
     * #resolver} must map to 127.0.0.1) instead of its address; the relay then too, as the
     * rendezvous advertises it by port only.
     */
    public String serverName;

    /** Put in front of each connector's tunnel socket: lets a test cut the direct path. */
    public Supplier<ChannelHandler> connectorTap;

    /** Put in front of each share session's tunnel socket. */
    public Supplier<ChannelHandler> shareTap;

    public Lab() throws Exception {
        this(null);
    }

    /**
     * @param relayAdvertised where peers are told the relay is (null: the embedded relay itself)
     */
    public Lab(String relayAdvertised) throws Exception {
        this(relayAdvertised, RelayProtocol.PAIRING_TIMEOUT_MILLIS);
    }

    /**
     * @param relayPairingTimeoutMillis the relay's pairing timeout: production's, unless a test
     *     waits for the relay's own "ERR timeout"
     */
    public Lab(String relayAdvertised, long relayPairingTimeoutMillis) throws Exception {
        // every lab client is 127.0.0.1: no per-address budget may cut it
        this(relayAdvertised, relayPairingTimeoutMillis, ClientLimits.oneAddressLab());
    }

    private Lab(String relayAdvertised, long relayPairingTimeoutMillis, ClientLimits limits)
            throws Exception {
        this.relayAdvertised = relayAdvertised;
        this.relayPairingTimeoutMillis = relayPairingTimeoutMillis;
        this.limits = limits;
        startServer();
    }

    /**
     * A lab whose rendezvous grants each source address what production does ({@link
     * ClientLimits#defaults()}): for tests whose attackers come from other 127.0.0.x addresses than
     * the lab's peers.
     */
    public static Lab withProductionLimits() throws Exception {
        return new Lab(null, RelayProtocol.PAIRING_TIMEOUT_MILLIS, ClientLimits.defaults());
    }

    /** A lab whose peers use only the given path (relay, or direct with ICE on loopback). */
    public static Lab with(Transport transport) throws Exception {
        Lab lab = new Lab();
        lab.transport = transport;
        return lab;
    }

    public void startServer() throws Exception {
        if (relayPort == 0) {
            // Below Linux's ephemeral range (32768+), so that no client socket of this JVM can take
            // the port between a stopServer() and the startServer() that rebinds it.
            Random r = new Random();
            for (int attempt = 0; ; attempt++) {
                try {
                    startOn(20_000 + 2 * r.nextInt(6_000));
                    return;
                } catch (ListenFailure taken) {
                    if (attempt > 50) throw taken;
                }
            }
        }
        // A restart on the same ports: the sockets the old servers accepted are closed, but NIO
        // frees their descriptors only when their event loop next selects, so the port can stay
        // taken for a moment. Retry for a few seconds, as an operator restarting a server would.
        for (int attempt = 0; ; attempt++) {
            try {
                startOn(rendezvousPort);
                return;
            } catch (ListenFailure stillTaken) {
                if (attempt >= 50) throw stillTaken;
                Thread.sleep(100);
            }
        }
    }

    /** The rendezvous on {@code port}, the relay on the next. */
    private void startOn(int port) throws Exception {
        AppshareServer.Options options =
                AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", port))
                        .withRelayAdvertised(relayAdvertised) // null: the embedded relay
                        // short for the hostile-input tests, with room for a busy machine
                        .withHandshakes(3_000, relayPairingTimeoutMillis)
                        .withLimits(limits);
        servers = AppshareServer.start(options, tokens, group);
        rendezvous = servers.rendezvous();
        relay = servers.relay();
        rendezvousPort = port;
        relayPort = port + 1;
    }

    public void setRelayAdvertised(String relayAdvertised) {
        this.relayAdvertised = relayAdvertised;
    }

    public void stopServer() {
        servers.close();
    }

    public InetSocketAddress server() {
        return new InetSocketAddress("127.0.0.1", rendezvousPort);
    }

    public int relayPort() {
        return relayPort;
    }

    public Console console() {
        return consoleLines::add;
    }

    public Sharer share(int port) throws Exception {
        return share(port, null);
    }

    /**
     * A share of {@code port}; {@code name} is what it asks the rendezvous for (share --name: the
     * last part of its code), null for a drawn number. {@link Sharer#name()} gives the whole code.
     */
    public Sharer share(int port, String name) throws Exception {
        return share(new InetSocketAddress("127.0.0.1", port), name);
    }

    /** A share of {@code target}, which may be unresolved (a host name, as with --host). */
    public Sharer share(InetSocketAddress target, String name) throws Exception {
        return share(List.of(target), name);
    }

    /** A share exposing each of {@code targets} (share --port, repeated). */
    public Sharer share(List<InetSocketAddress> targets, String name) throws Exception {
        return share(targets, name, null);
    }

    /** A share with a kept code (share --keep-code), or a fresh one when {@code kept} is null. */
    public Sharer share(List<InetSocketAddress> targets, String name, KeptCode kept)
            throws Exception {
        Sharer s =
                new Sharer(
                        new Sharer.Config(
                                peerServer(),
                                targets,
                                name,
                                paths(
                                        shareTransport != null ? shareTransport : transport,
                                        shareTap)),
                        group,
                        console(),
                        kept);
        peers.add(s);
        s.start().get(20, TimeUnit.SECONDS);
        return s;
    }

    /** A connector to the share with this code (the whole code: {@link Sharer#name()}). */
    public Connector connect(String code) throws Exception {
        return connect(code, console());
    }

    /** A connector that prints to its own console. */
    public Connector connect(String name, Console console) throws Exception {
        return connect(
                name,
                List.of(Connector.Forward.sameOrOnly(new InetSocketAddress("127.0.0.1", 0))),
                console);
    }

    /** A connector with one listener per forward (connect --local, repeated). */
    public Connector connect(String name, List<Connector.Forward> forwards, Console console)
            throws Exception {
        Connector c =
                new Connector(
                        new Connector.Config(
                                peerServer(), name, forwards, paths(transport, connectorTap)),
                        group,
                        console);
        peers.add(c);
        c.start().get(20, TimeUnit.SECONDS);
        return c;
    }

    private InetSocketAddress peerServer() {
        return serverName == null
                ? server()
                : InetSocketAddress.createUnresolved(serverName, rendezvousPort);
    }

    /** ICE offers loopback only: tests stay on 127.0.0.1. */
    private PathOptions paths(Transport transport, Supplier<ChannelHandler> tap) {
        return new PathOptions(
                transport, hostAddresses, PathOptions.ICE_TIMEOUT_MILLIS, tap, resolver);
    }

    /**
     * Waits for a console line containing {@code text}, printed after the first {@code skip} lines.
     */
    public String awaitLine(String text, int skip, long timeoutMillis) throws InterruptedException {
        long end = System.currentTimeMillis() + timeoutMillis;
        while (System.currentTimeMillis() < end) {
            for (int i = skip; i < consoleLines.size(); i++) {
                if (consoleLines.get(i).contains(text)) return consoleLines.get(i);
            }
            Thread.sleep(20);
        }
        throw new AssertionError(
                "no console line with '"
                        + text
                        + "' within "
                        + timeoutMillis
                        + " ms; lines: "
                        + consoleLines);
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable p : peers) {
            try {
                p.close();
            } catch (Exception ignored) {
                // already closed by the test
            }
        }
        stopServer();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
