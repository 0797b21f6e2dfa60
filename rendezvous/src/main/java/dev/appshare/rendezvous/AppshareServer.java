package dev.appshare.rendezvous;

import dev.appshare.relay.RelayServer;
import dev.appshare.wire.net.Closeables;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole {@code appshare server}: the rendezvous (TCP, and STUN on the UDP port of the same number
 * and a second one) and, unless peers are sent to a standalone relay, the embedded fallback relay.
 * Both run on the caller's event loop group and sign and check relay tokens with the same {@link
 * RelayToken}.
 */
public final class AppshareServer implements AutoCloseable {

    /**
     * What to start: {@link #of} and then the {@code withX} methods, each of which returns a copy
     * with one setting changed.
     */
    public static final class Options implements Cloneable {
        private InetSocketAddress listen;
        private InetSocketAddress relayListen;
        private String relayAdvertised;
        private String publicHost;
        private long handshakeMillis = new RendezvousServer.Config().handshakeTimeoutMillis;
        private long relayHandshakeMillis = RelayProtocol.PAIRING_TIMEOUT_MILLIS;
        private ClientLimits limits = ClientLimits.defaults();
        private PublicUrls publicUrls;
        private int stunAltPort = RendezvousServer.STUN_ALT_NEXT;

        private Options() {}

        /** The rendezvous on {@code listen}, the embedded relay on the next port (or any). */
        public static Options of(InetSocketAddress listen) {
            Options o = new Options();
            o.listen = listen;
            o.relayListen = nextPort(listen);
            return o;
        }

        private Options copy() {
            try {
                return (Options) clone();
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }

        /** The rendezvous's TCP address, and its first STUN port's (UDP, same number). */
        public InetSocketAddress listen() {
            return listen;
        }

        /** Where the embedded relay listens; null: none, peers are sent to relayAdvertised. */
        public InetSocketAddress relayListen() {
            return relayListen;
        }

        /** The relay address handed to peers; null: publicHost and the embedded relay's port. */
        public String relayAdvertised() {
            return relayAdvertised;
        }

        /** The host in the advertised relay address; null: none (":PORT"), the rendezvous's. */
        public String publicHost() {
            return publicHost;
        }

        /** How long a control connection may take to REGISTER or CONNECT. */
        public long handshakeMillis() {
            return handshakeMillis;
        }

        /** How long a relay connection may wait for its partner. */
        public long relayHandshakeMillis() {
            return relayHandshakeMillis;
        }

        /** The rendezvous's budgets per source address and in all. */
        public ClientLimits limits() {
            return limits;
        }

        /** The gateway's URLs for shares that ask for one; null: no gateway. */
        public PublicUrls publicUrls() {
            return publicUrls;
        }

        /** The second STUN port (see {@link RendezvousServer.Config#stunAltPort}). */
        public int stunAltPort() {
            return stunAltPort;
        }

        /** Offers shares that ask for it a public URL at the gateway {@code urls} describes. */
        public Options withPublicUrls(PublicUrls urls) {
            Options o = copy();
            o.publicUrls = urls;
            return o;
        }

        public Options withRelayListen(InetSocketAddress relayListen) {
            Options o = copy();
            o.relayListen = relayListen;
            return o;
        }

        /** Sends peers to a standalone relay; none is embedded. */
        public Options withExternalRelay(String relay) {
            return withRelayListen(null).withRelayAdvertised(relay);
        }

        /** Tells peers the relay is at {@code relay} (null: the embedded one). */
        public Options withRelayAdvertised(String relay) {
            Options o = copy();
            o.relayAdvertised = relay;
            return o;
        }

        public Options withPublicHost(String host) {
            Options o = copy();
            o.publicHost = host;
            return o;
        }

        public Options withHandshakes(long rendezvousMillis, long relayMillis) {
            Options o = copy();
            o.handshakeMillis = rendezvousMillis;
            o.relayHandshakeMillis = relayMillis;
            return o;
        }

        public Options withLimits(ClientLimits limits) {
            Options o = copy();
            o.limits = limits;
            return o;
        }

        /** The second STUN port: a port, 0 for any free one, or STUN_ALT_NEXT (the default). */
        public Options withStunAltPort(int port) {
            Options o = copy();
            o.stunAltPort = port;
            return o;
        }

        /** The host of {@code a} and the port after its own; port 0 stays 0 (any free port). */
        private static InetSocketAddress nextPort(InetSocketAddress a) {
            return InetSocketAddress.createUnresolved(
                    a.getHostString(), a.getPort() == 0 ? 0 : a.getPort() + 1);
        }
    }

    /** One of the two servers could not bind; whatever had started is closed again. */
    public static final class ListenFailure extends Exception {
        private final boolean relay;
        private final InetSocketAddress address;

        ListenFailure(boolean relay, InetSocketAddress address, Throwable cause) {
            super(cause.getMessage(), cause);
            this.relay = relay;
            this.address = address;
        }

        /** True if the embedded relay failed, false if the rendezvous did. */
        public boolean relay() {
            return relay;
        }

        public InetSocketAddress address() {
            return address;
        }
    }

    private final RendezvousServer rendezvous;
    private final RelayServer relay; // null with a standalone relay
    private final String relayAdvertised;

    private AppshareServer(RendezvousServer rendezvous, RelayServer relay, String advertised) {
        this.rendezvous = rendezvous;
        this.relay = relay;
        this.relayAdvertised = advertised;
    }

    /** Binds the relay (if embedded), then the rendezvous that advertises it. */
    public static AppshareServer start(Options o, RelayToken tokens, EventLoopGroup group)
            throws ListenFailure, InterruptedException {
        return start(o, tokens, group, new ServerStats());
    }

    /** As {@link #start(Options, RelayToken, EventLoopGroup)}, both servers counting into stats. */
    public static AppshareServer start(
            Options o, RelayToken tokens, EventLoopGroup group, ServerStats stats)
            throws ListenFailure, InterruptedException {
        RelayServer relay = null;
        String advertised = o.relayAdvertised();
        if (o.relayListen() != null) {
            try {
                relay =
                        new RelayServer(tokens, o.relayHandshakeMillis())
                                .withStats(stats)
                                .start(group, o.relayListen());
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) { // netty rethrows the bind's IOException unchecked
                throw new ListenFailure(true, o.relayListen(), e);
            }
            if (advertised == null) {
                String host = o.publicHost() != null ? o.publicHost() : "";
                advertised = host + ":" + relay.localAddress().getPort();
            }
        }
        if (advertised == null)
            throw new IllegalArgumentException("no embedded relay and no relay to advertise");
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = o.listen();
        cfg.relayAdvertised = advertised;
        cfg.handshakeTimeoutMillis = o.handshakeMillis();
        cfg.limits = o.limits();
        cfg.publicUrls = o.publicUrls();
        cfg.stunAltPort = o.stunAltPort();
        cfg.stats = stats;
        try {
            return new AppshareServer(
                    new RendezvousServer(cfg, tokens).start(group), relay, advertised);
        } catch (Exception e) {
            if (relay != null) relay.close();
            if (e instanceof InterruptedException ie) throw ie;
            throw new ListenFailure(false, o.listen(), e);
        }
    }

    public RendezvousServer rendezvous() {
        return rendezvous;
    }

    /** The embedded relay, or null when peers are sent to a standalone one. */
    public RelayServer relay() {
        return relay;
    }

    /** The relay address peers are handed: HOST:PORT, or :PORT for the rendezvous's host. */
    public String relayAdvertised() {
        return relayAdvertised;
    }

    /** Closes the rendezvous and the relay, each even if the other's close throws. */
    @Override
    public void close() {
        List<Exception> failures = new ArrayList<>();
        Closeables.closeEach(failures, rendezvous, relay);
        Exception failed = Closeables.first(failures);
        if (failed instanceof RuntimeException r) throw r;
        if (failed != null) throw new IllegalStateException(failed);
    }
}
