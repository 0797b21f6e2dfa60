package dev.appshare.peer.path;

import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;

/** The relay address the rendezvous hands out; an empty host means "the rendezvous's own host". */
public final class RelayAddress {
    private RelayAddress() {}

    public static InetSocketAddress resolve(String field, InetSocketAddress rendezvous) {
        InetSocketAddress a = HostPort.parse(field, -1);
        if (field.startsWith(":") || a.getHostString().equals("0.0.0.0")) {
            return new InetSocketAddress(rendezvous.getHostString(), a.getPort());
        }
        return HostPort.resolved(a);
    }
}
