package dev.appshare.wire.net;

import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.RejectedExecutionException;

/**
 * Looks a host name up. A lookup blocks (the JDK's resolver: hosts file, DNS, nsswitch), so it is
 * never run on an event loop, whose other channels (tunnel traffic) would stall for as long as DNS
 * takes: {@link #resolve} runs it on {@link ResolverThreads}. Netty resolves an unresolved address
 * given to {@code connect} on the channel's own loop, so every address handed to a bootstrap is
 * resolved first, through this.
 */
@FunctionalInterface
public interface Resolver {
    /** The JDK's resolver: what the command line uses. */
    Resolver JDK = InetAddress::getByName;

    /** Blocking; the first address for {@code host}. */
    InetAddress lookup(String host) throws UnknownHostException;

    /**
     * The address with its host resolved, off the event loops; listeners run on {@code executor}. A
     * resolved address, or an IP literal, completes at once without a lookup.
     */
    default Future<InetSocketAddress> resolve(InetSocketAddress address, EventExecutor executor) {
        if (!address.isUnresolved()) return executor.newSucceededFuture(address);
        String host = address.getHostString();
        InetAddress literal = NetUtil.createInetAddressFromIpAddressString(host);
        if (literal != null) {
            return executor.newSucceededFuture(new InetSocketAddress(literal, address.getPort()));
        }
        Promise<InetSocketAddress> p = executor.newPromise();
        try {
            ResolverThreads.POOL.execute(
                    () -> {
                        try {
                            p.trySuccess(new InetSocketAddress(lookup(host), address.getPort()));
                        } catch (Exception e) {
                            p.tryFailure(e);
                        }
                    });
        } catch (RejectedExecutionException e) {
            p.tryFailure(new UnknownHostException(host + ": too many lookups at once"));
        }
        return p;
    }
}
