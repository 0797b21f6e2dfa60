package dev.appshare.peer.e2e;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A whole appshare deployment in one JVM on loopback: a rendezvous with its relay, and any number
 * of sharers and connectors, each a real netty server or client on real sockets.
 */
public final class Lab implements AutoCloseable {
    static {
        // ice4j logs through java.util.logging: into slf4j, at WARN, as the command line does.
        java.util.logging.LogManager.getLogManager().reset();
        org.slf4j.bridge.SLF4JBridgeHandler.install();
        java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    }

    public final EventLoopGroup group = EventLoops.newGroup(2);
    public final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    public RelayServer relay;
    public RendezvousServer rendezvous;
    private int rendezvousPort;
    private int relayPort;
    private String relayAdvertised;
    private final List<AutoCloseable> peers = new ArrayList<>();
    public final List<String> consoleLines = new CopyOnWriteArrayList<>();

    /** The paths peers started from now on may use; tests of the relay alone keep the default. */
    public Transport transport = Transport.RELAY;

    /** When set, shares use this instead of {@link #transport}. */
    public Transport shareTransport;

    /** The host candidates ICE offers (loopback only: tests stay on this machine). */
    public java.util.List<java.net.InetAddress> hostAddresses = HostAddresses.loopback();

    /** Put in front of each connector's tunnel socket: lets a test cut the direct path. */
    public Supplier<ChannelHandler> connectorTap;

    public Lab() throws Exception {
        this(null);
    }

    /**
     * @param relayAdvertised where peers are told the relay is (null: the embedded relay itself)
     */
    public Lab(String relayAdvertised) throws Exception {
        this.relayAdvertised = relayAdvertised;
        startServer();
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
            // the
            // port between a stopServer() and the startServer() that rebinds it.
            java.util.Random r = new java.util.Random();
            for (int attempt = 0; ; attempt++) {
                int base = 20_000 + 2 * r.nextInt(6_000);
                try {
                    relay =
                            new RelayServer(tokens, 2_000)
                                    .start(group, new InetSocketAddress("127.0.0.1", base + 1));
                    relayPort = base + 1;
                    rendezvousPort = base;
                    startRendezvous();
                    return;
                } catch (Exception taken) {
                    if (relay != null) relay.close();
                    relay = null;
                    relayPort = 0;
                    rendezvousPort = 0;
                    if (attempt > 50) throw taken;
                }
            }
        }
        // A restart on the same ports: the sockets the old servers accepted are closed, but NIO
        // frees
        // their descriptors only when their event loop next selects, so the port can stay taken for
        // a moment. Retry for a few seconds, as an operator restarting a server would.
        for (int attempt = 0; ; attempt++) {
            try {
                relay =
                        new RelayServer(tokens, 2_000)
                                .start(group, new InetSocketAddress("127.0.0.1", relayPort));
                break;
            } catch (Exception stillTaken) {
                if (attempt >= 50) throw stillTaken;
                Thread.sleep(100);
            }
        }
        for (int attempt = 0; ; attempt++) {
            try {
                startRendezvous();
                return;
            } catch (Exception stillTaken) {
                if (attempt >= 50) throw stillTaken;
                Thread.sleep(100);
            }
        }
    }

    private void startRendezvous() throws Exception {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = new InetSocketAddress("127.0.0.1", rendezvousPort);
        cfg.relayAdvertised = relayAdvertised != null ? relayAdvertised : ":" + relayPort;
        cfg.handshakeTimeoutMillis =
                3_000; // short for the hostile-input tests, with room for a busy machine
        rendezvous = new RendezvousServer(cfg, tokens).start(group);
        rendezvousPort = rendezvous.localAddress().getPort();
    }

    public void setRelayAdvertised(String relayAdvertised) {
        this.relayAdvertised = relayAdvertised;
    }

    public void stopServer() {
        rendezvous.close();
        relay.close();
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

    public Sharer share(int port, String name) throws Exception {
        Sharer s =
                new Sharer(
                        new Sharer.Config(
                                server(),
                                new InetSocketAddress("127.0.0.1", port),
                                name,
                                paths(shareTransport != null ? shareTransport : transport, null)),
                        group,
                        console());
        peers.add(s);
        s.start().get(20, TimeUnit.SECONDS);
        return s;
    }

    public Connector connect(String name) throws Exception {
        return connect(name, console());
    }

    /** A connector that prints to its own console. */
    public Connector connect(String name, Console console) throws Exception {
        Connector c =
                new Connector(
                        new Connector.Config(
                                server(),
                                name,
                                new InetSocketAddress("127.0.0.1", 0),
                                paths(transport, connectorTap)),
                        group,
                        console);
        peers.add(c);
        c.start().get(20, TimeUnit.SECONDS);
        return c;
    }

    /** ICE offers loopback only: tests stay on 127.0.0.1. */
    private PathOptions paths(Transport transport, Supplier<ChannelHandler> tap) {
        return new PathOptions(transport, hostAddresses, PathOptions.ICE_TIMEOUT_MILLIS, tap);
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
