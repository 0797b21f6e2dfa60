package dev.appshare.e2e;

import dev.appshare.connect.Connector;
import dev.appshare.net.EventLoops;
import dev.appshare.peer.Console;
import dev.appshare.relay.RelayServer;
import dev.appshare.relay.RelayToken;
import dev.appshare.share.Sharer;
import dev.appshare.signalling.RendezvousServer;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A whole appshare deployment in one JVM on loopback: a rendezvous with its relay, and any number of
 * sharers and connectors, each a real netty server or client on real sockets.
 */
public final class Lab implements AutoCloseable {
    public final EventLoopGroup group = EventLoops.newGroup(2);
    public final RelayToken tokens = new RelayToken(RelayToken.randomSecret(), Clock.systemUTC());
    public RelayServer relay;
    public RendezvousServer rendezvous;
    private int rendezvousPort;
    private int relayPort;
    private String relayAdvertised;
    private final List<AutoCloseable> peers = new ArrayList<>();
    public final List<String> consoleLines = new CopyOnWriteArrayList<>();

    public Lab() throws Exception {
        this(null);
    }

    /** @param relayAdvertised where peers are told the relay is (null: the embedded relay itself) */
    public Lab(String relayAdvertised) throws Exception {
        this.relayAdvertised = relayAdvertised;
        startServer();
    }

    public void startServer() throws Exception {
        relay = new RelayServer(tokens, 2_000).start(group, new InetSocketAddress("127.0.0.1", relayPort));
        relayPort = relay.localAddress().getPort();
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = new InetSocketAddress("127.0.0.1", rendezvousPort);
        cfg.relayAdvertised = relayAdvertised != null ? relayAdvertised : ":" + relayPort;
        cfg.handshakeTimeoutMillis = 1_000;
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
        Sharer s = new Sharer(new Sharer.Config(server(), new InetSocketAddress("127.0.0.1", port), name), group, console());
        peers.add(s);
        s.start().get(20, TimeUnit.SECONDS);
        return s;
    }

    public Connector connect(String name) throws Exception {
        Connector c = new Connector(new Connector.Config(server(), name, new InetSocketAddress("127.0.0.1", 0)), group, console());
        peers.add(c);
        c.start().get(20, TimeUnit.SECONDS);
        return c;
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
