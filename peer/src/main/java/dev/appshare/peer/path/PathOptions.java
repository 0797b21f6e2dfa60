package dev.appshare.peer.path;

import dev.appshare.peer.ice.AddressWatch;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.wire.net.Resolver;
import io.netty.channel.ChannelHandler;
import java.net.InetAddress;
import java.util.List;
import java.util.function.Supplier;

/**
 * How a tunnel may travel: {@code transport} says which paths (--transport), {@code hostAddresses}
 * which local addresses are offered as ICE host candidates, {@code iceTimeoutMillis} how long ICE
 * may try. {@code testOnlySocketTap} (tests and the bench only), when set, is put in front of
 * everything on the tunnel's UDP channel: tests use it to cut the direct path as a firewall would.
 * {@code resolver} looks up the host names of the rendezvous, the relay and the shared host, off
 * the event loops (tests count its lookups). {@code followsInterfaces}: the host addresses are the
 * machine's, and a change of them restarts ICE ({@code AddressWatch}).
 */
public record PathOptions(
        Transport transport,
        List<InetAddress> hostAddresses,
        long iceTimeoutMillis,
        Supplier<ChannelHandler> testOnlySocketTap,
        Resolver resolver,
        boolean followsInterfaces) {
    public static final long ICE_TIMEOUT_MILLIS = 15_000;

    /** With a fixed list of host addresses. */
    public PathOptions(
            Transport transport,
            List<InetAddress> hostAddresses,
            long iceTimeoutMillis,
            Supplier<ChannelHandler> testOnlySocketTap,
            Resolver resolver) {
        this(transport, hostAddresses, iceTimeoutMillis, testOnlySocketTap, resolver, false);
    }

    /** With the JDK's resolver. */
    public PathOptions(
            Transport transport,
            List<InetAddress> hostAddresses,
            long iceTimeoutMillis,
            Supplier<ChannelHandler> testOnlySocketTap) {
        this(transport, hostAddresses, iceTimeoutMillis, testOnlySocketTap, Resolver.JDK);
    }

    /**
     * What the command line uses: host candidates on all interfaces, or only the addresses listed
     * in {@code $APPSHARE_ICE_HOSTS} (comma-separated literals, e.g. 127.0.0.1 for a loopback
     * benchmark).
     */
    public static PathOptions of(Transport transport) {
        String only = System.getenv("APPSHARE_ICE_HOSTS");
        List<InetAddress> hosts =
                only == null || only.isBlank() ? HostAddresses.all() : HostAddresses.parse(only);
        return new PathOptions(
                transport,
                hosts,
                ICE_TIMEOUT_MILLIS,
                null,
                Resolver.JDK,
                only == null || only.isBlank());
    }

    /**
     * The host addresses to offer now: with {@code followsInterfaces}, those of the interfaces as
     * they are (an ICE restart after the network changed offers the new ones), else the fixed list.
     */
    public List<InetAddress> hostsNow() {
        return followsInterfaces ? AddressWatch.addresses() : hostAddresses;
    }

    public boolean usesRelay() {
        return transport != Transport.DIRECT;
    }

    public boolean usesDirect() {
        return transport != Transport.RELAY;
    }
}
