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
 * A whole {@code appshare server}: the rendezvous (TCP, and STUN on the UDP port of the same
 * number) and, unless peers are sent to a standalone relay, the embedded fallback relay. Both run
 * on the caller's event loop group and sign and check relay tokens with the same {@link
 * RelayToken}.
 */
public final class AppshareServer implements AutoCloseable {

    /**
     * What to start.
     *
     * @param listen the rendezvous's TCP and UDP address
     * @param relayListen where the embedded relay listens; null: none, peers are sent to {@code
     *     relayAdvertised}
     * @param relayAdvertised the relay address handed to peers; null: {@code publicHost} and the
     *     embedded relay's port
     * @param publicHost the host in the advertised relay address; null: none (":PORT"), peers use
     *     the host they reached the rendezvous on
     * @param handshakeMillis how long a control connection may take to REGISTER or CONNECT
     * @param relayHandshakeMillis how long a relay connection may wait for its partner
     * @param limits the rendezvous's budgets per source address and in all
     */
    public record Options(
            InetSocketAddress listen,
            InetSocketAddress relayListen,
            String relayAdvertised,
            String publicHost,
            long handshakeMillis,
            long relayHandshakeMillis,
            ClientLimits limits,
            PublicUrls publicUrls) {

        public Options(
                InetSocketAddress listen,
                InetSocketAddress relayListen,
                String relayAdvertised,
                String publicHost,
                long handshakeMillis,
                long relayHandshakeMillis,
                ClientLimits limits) {
            this(
                    listen,
                    relayListen,
                    relayAdvertised,
                    publicHost,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    null);
        }

        /** Offers shares that ask for it a public URL at the gateway {@code urls} describes. */
        public Options withPublicUrls(PublicUrls urls) {
            return new Options(
                    listen,
                    relayListen,
                    relayAdvertised,
                    publicHost,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    urls);
        }

        /** The rendezvous on {@code listen}, the embedded relay on the next port (or any). */
        public static Options of(InetSocketAddress listen) {
            return new Options(
                    listen,
                    nextPort(listen),
                    null,
                    null,
                    new RendezvousServer.Config().handshakeTimeoutMillis,
                    RelayProtocol.PAIRING_TIMEOUT_MILLIS,
                    ClientLimits.defaults());
        }

        public Options withRelayListen(InetSocketAddress relayListen) {
            return new Options(
                    listen,
                    relayListen,
                    relayAdvertised,
                    publicHost,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    publicUrls);
        }

        /** Sends peers to a standalone relay; none is embedded. */
        public Options withExternalRelay(String relay) {
            return withRelayListen(null).withRelayAdvertised(relay);
        }

        /** Tells peers the relay is at {@code relay} (null: the embedded one). */
        public Options withRelayAdvertised(String relay) {
            return new Options(
                    listen,
                    relayListen,
                    relay,
                    publicHost,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    publicUrls);
        }

        public Options withPublicHost(String host) {
            return new Options(
                    listen,
                    relayListen,
                    relayAdvertised,
                    host,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    publicUrls);
        }

        public Options withHandshakes(long rendezvousMillis, long relayMillis) {
            return new Options(
                    listen,
                    relayListen,
                    relayAdvertised,
                    publicHost,
                    rendezvousMillis,
                    relayMillis,
                    limits,
                    publicUrls);
        }

        public Options withLimits(ClientLimits limits) {
            return new Options(
                    listen,
                    relayListen,
                    relayAdvertised,
                    publicHost,
                    handshakeMillis,
                    relayHandshakeMillis,
                    limits,
                    publicUrls);
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
