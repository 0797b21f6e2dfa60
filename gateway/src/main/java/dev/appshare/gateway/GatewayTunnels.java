package dev.appshare.gateway;

import dev.appshare.peer.path.RelayAddress;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.wire.net.AddressBudget;
import dev.appshare.wire.tunnel.StreamAborts;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's tunnels, one per public share with visitors, by label: opened on a share's first
 * visitor (the server asks the share for it, INCOMING gateway=1), shared by every later visitor's
 * stream, closed after {@link #IDLE_MILLIS} without one. Bounded: at most {@link #MAX_TUNNELS} at
 * once, and a share whose tunnel failed is not asked again for {@link #RETRY_MILLIS} (its visitors
 * get 502 meanwhile), so visitors cannot make the gateway pour invitations at a share.
 */
final class GatewayTunnels implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GatewayTunnels.class);

    /**
     * Tunnels at once: each is a relay connection from the gateway's one address, so this stays
     * below the relay's budget per address ({@code RelayServer.MAX_CONNECTIONS_PER_ADDRESS}, 128),
     * with room for shares on the server's own machine.
     */
    static final int MAX_TUNNELS = 96;

    /**
     * Visitors' streams one share's tunnel carries at once: each is a connection to its
     * application, which strangers from many addresses could otherwise multiply without bound.
     */
    static final int STREAMS_PER_SHARE = 1_024;

    /**
     * Tunnels at once to shares registered from one address (IPv4) or one IPv6 /48: without it,
     * three addresses' public shares, each kept open by a trickling answer, held all {@link
     * #MAX_TUNNELS} and every other public share got 503.
     */
    static final int TUNNELS_PER_SITE = 16;

    static final long IDLE_MILLIS = 60_000;
    static final long RETRY_MILLIS = 3_000;

    /** Why there is no tunnel to hand out: the visitor gets a 502 or 503 saying so. */
    static final class NoTunnel extends Exception {
        final boolean busy;

        NoTunnel(String message, boolean busy) {
            super(message, null, false, false);
            this.busy = busy;
        }
    }

    private final EventLoopGroup group;
    private final PeerIdentity identity;
    private final RendezvousServer server;
    private final Function<String, InetSocketAddress> relayOf;
    private final Map<String, Future<GatewayTunnel>> byLabel = new HashMap<>();
    private final Map<String, Long> failedAt = new HashMap<>();
    // the site (address, IPv6 /48) each share with a tunnel registered from
    private final Map<String, AddressBudget.Key> ownerOf = new HashMap<>();
    private int tunnelsPerSite = TUNNELS_PER_SITE;
    private final ScheduledFuture<?> sweep;
    private long opened; // tunnels asked for, in all: for tests

    /**
     * @param relayOf where the gateway dials the relay an INCOMING names (the server's own relay on
     *     loopback when it is embedded)
     */
    GatewayTunnels(
            EventLoopGroup group,
            PeerIdentity identity,
            RendezvousServer server,
            Function<String, InetSocketAddress> relayOf) {
        this.group = group;
        this.identity = identity;
        this.server = server;
        this.relayOf = relayOf;
        this.sweep =
                group.next()
                        .scheduleWithFixedDelay(
                                this::closeIdle,
                                IDLE_MILLIS / 4,
                                IDLE_MILLIS / 4,
                                TimeUnit.MILLISECONDS);
    }

    /** The share's tunnel: the open one, the one being opened, or a new one. */
    synchronized Future<GatewayTunnel> get(String label) {
        Future<GatewayTunnel> f = byLabel.get(label);
        if (f != null && (!f.isDone() || (f.isSuccess() && f.getNow().isUp()))) return f;
        long now = System.nanoTime();
        if (f != null) {
            byLabel.remove(label);
            if (f.isSuccess() && f.getNow().lostEarly()) failedAt.put(label, now);
        }
        Long failed = failedAt.get(label);
        if (failed != null && now - failed < TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS))
            return failed("the share did not answer lately", false);
        failedAt.remove(label);
        if (byLabel.size() >= MAX_TUNNELS)
            return failed("the gateway holds its most tunnels (" + MAX_TUNNELS + ")", true);
        ownerOf.keySet().retainAll(byLabel.keySet());
        ShareRegistry.Share share = server.registry().publicShare(label);
        AddressBudget.Key from =
                share == null || share.from() == null ? null : AddressBudget.Key.site(share.from());
        if (from != null
                && ownerOf.values().stream().filter(from::equals).count() >= tunnelsPerSite)
            return failed(
                    "the gateway holds its most tunnels ("
                            + tunnelsPerSite
                            + ") to shares from that share's address",
                    true);
        RendezvousServer.GatewayInvite invite = server.inviteGateway(label);
        if (invite == null) return failed("the share is not registered or not reading", false);
        InetSocketAddress relay = relayOf.apply(invite.relay());
        Future<GatewayTunnel> opening =
                GatewayTunnel.open(
                        label,
                        group.next(),
                        identity,
                        invite.share().owner(),
                        relay,
                        invite.token());
        byLabel.put(label, opening);
        if (from != null) ownerOf.put(label, from);
        opened++;
        opening.addListener(
                x -> {
                    if (!x.isSuccess()) {
                        log.info(
                                "gateway: no tunnel to public share {}: {}",
                                label,
                                x.cause().getMessage());
                        synchronized (this) {
                            byLabel.remove(label, opening);
                            failedAt.put(label, System.nanoTime());
                        }
                    } else {
                        log.debug("gateway: tunnel to public share {} is up", label);
                    }
                });
        return opening;
    }

    /**
     * Opens a visitor's stream on {@code tunnel}, counted until it closes (an idle tunnel is one
     * without streams).
     */
    Future<QuicStreamChannel> openStream(
            GatewayTunnel tunnel, io.netty.channel.ChannelHandler handler) {
        synchronized (this) {
            if (tunnel.openStreams() >= STREAMS_PER_SHARE) {
                Promise<QuicStreamChannel> p = GlobalEventExecutor.INSTANCE.newPromise();
                p.setFailure(
                        new NoTunnel(
                                "the share has " + STREAMS_PER_SHARE + " visitors' streams open",
                                true));
                return p;
            }
            tunnel.streamOpened(); // counted from now, so that racing opens see it
        }
        Future<QuicStreamChannel> f = tunnel.openStream(handler);
        f.addListener(
                x -> {
                    if (!x.isSuccess()) {
                        synchronized (this) {
                            tunnel.streamClosed();
                        }
                        return;
                    }
                    // netty forgets it once closed; the end records count its bytes from its
                    // first (before the visitor's listener writes the preamble), and its end
                    // leaves by record too if QUIC loses it (StreamEnds)
                    StreamAborts.track((QuicStreamChannel) x.getNow());
                    ((QuicStreamChannel) x.getNow())
                            .closeFuture()
                            .addListener(
                                    c -> {
                                        synchronized (this) {
                                            tunnel.streamClosed();
                                        }
                                    });
                });
        return f;
    }

    private Future<GatewayTunnel> failed(String why, boolean busy) {
        Promise<GatewayTunnel> p = GlobalEventExecutor.INSTANCE.newPromise();
        p.setFailure(new NoTunnel(why, busy));
        return p;
    }

    private void closeIdle() {
        List<GatewayTunnel> idle = new ArrayList<>();
        long now = System.nanoTime();
        synchronized (this) {
            byLabel.values()
                    .removeIf(
                            f -> {
                                if (!f.isDone()) return false;
                                if (!f.isSuccess()) return true;
                                GatewayTunnel t = f.getNow();
                                boolean gone =
                                        !t.isUp()
                                                || t.idleFor(
                                                        TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS),
                                                        now);
                                if (gone) idle.add(t);
                                // a share that drops its tunnels gets no new one for a while
                                if (!t.isUp() && t.lostEarly()) failedAt.put(t.label(), now);
                                return gone;
                            });
            failedAt.values().removeIf(t -> now - t >= TimeUnit.MILLISECONDS.toNanos(RETRY_MILLIS));
        }
        for (GatewayTunnel t : idle) {
            log.debug("gateway: closing the idle tunnel to {}", t.label());
            t.close();
        }
    }

    /** The same IPv4 address, or the same IPv6 /48. */
    static boolean sameSite(InetAddress a, InetAddress b) {
        return AddressBudget.Key.site(a).equals(AddressBudget.Key.site(b));
    }

    /** A smaller {@link #TUNNELS_PER_SITE} (tests). */
    synchronized void tunnelsPerSite(int n) {
        tunnelsPerSite = n;
    }

    /** Tunnels asked for since the start (open, closed or failed), for tests. */
    synchronized long testOnlyOpened() {
        return opened;
    }

    /** Open tunnels, for tests. */
    synchronized int size() {
        return byLabel.size();
    }

    /** The tunnel to {@code label}'s share, if it is up (tests). */
    synchronized GatewayTunnel testOnlyTunnel(String label) {
        Future<GatewayTunnel> f = byLabel.get(label);
        return f != null && f.isSuccess() ? f.getNow() : null;
    }

    @Override
    public void close() {
        sweep.cancel(false);
        List<Future<GatewayTunnel>> all;
        synchronized (this) {
            all = new ArrayList<>(byLabel.values());
            byLabel.clear();
        }
        for (Future<GatewayTunnel> f : all) {
            if (f.isSuccess()) f.getNow().close();
            else
                f.addListener(
                        x -> {
                            if (x.isSuccess()) ((GatewayTunnel) x.getNow()).close();
                        });
        }
    }

    /** The relay field as the gateway dials it: relative to the rendezvous, as a peer would. */
    static Function<String, InetSocketAddress> relativeTo(InetSocketAddress rendezvous) {
        return field -> RelayAddress.parse(field, rendezvous);
    }
}
