package dev.appshare.peer.path;

import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;

/**
 * The relay address the rendezvous hands out; an empty host means "the rendezvous's own host".
 * Parsed here without a lookup (this runs on an event loop): {@link PathCarrier} resolves it off
 * the loop before dialling.
 */
public final class RelayAddress {
    private RelayAddress() {}

    public static InetSocketAddress parse(String field, InetSocketAddress rendezvous) {
        InetSocketAddress a = HostPort.parse(field, -1);
        if (field.startsWith(":") || a.getHostString().equals("0.0.0.0")) {
            return rendezvous.isUnresolved()
                    ? InetSocketAddress.createUnresolved(rendezvous.getHostString(), a.getPort())
                    : new InetSocketAddress(rendezvous.getAddress(), a.getPort());
        }
        return a;
    }
}
