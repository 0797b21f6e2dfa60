package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.connect.Connector;
import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Parses share's {@code --port P|HOST:PORT} and connect's {@code --local P[:REMOTE]}. */
final class PortSpecs {
    private PortSpecs() {}

    /** Each {@code --port}: a bare port is on {@code host}; no port twice. */
    static List<InetSocketAddress> shared(List<String> specs, String host) {
        List<InetSocketAddress> out = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        for (String spec : specs) {
            InetSocketAddress a;
            if (spec.matches("\\d+")) {
                a = InetSocketAddress.createUnresolved(host, port(spec, 1, "--port"));
            } else {
                try {
                    a = HostPort.parse(spec, -1);
                } catch (IllegalArgumentException e) {
                    throw new PeerException(2, "--port: " + e.getMessage());
                }
                if (a.getPort() < 1)
                    throw new PeerException(2, "--port " + spec + ": the port must be 1-65535");
            }
            if (!seen.add(a.getPort()))
                throw new PeerException(
                        2, "--port " + a.getPort() + " is given twice; each port once");
            out.add(a);
        }
        return out;
    }

    /** Each {@code --local P} or {@code --local P:REMOTE}, listening on {@code bind}. */
    static List<Connector.Forward> forwards(List<String> specs, String bind) {
        List<Connector.Forward> out = new ArrayList<>();
        Set<Integer> seen = new HashSet<>();
        for (String spec : specs) {
            int colon = spec.indexOf(':');
            String local = colon < 0 ? spec : spec.substring(0, colon);
            int p = port(local, 0, "--local");
            if (p != 0 && !seen.add(p))
                throw new PeerException(2, "--local " + p + " is given twice; each port once");
            InetSocketAddress at = InetSocketAddress.createUnresolved(bind, p);
            out.add(
                    colon < 0
                            ? Connector.Forward.sameOrOnly(at)
                            : Connector.Forward.exactly(
                                    at, port(spec.substring(colon + 1), 1, "--local " + spec)));
        }
        return out;
    }

    static int port(String text, int min, String option) {
        try {
            int p = Integer.parseInt(text);
            if (p >= min && p <= 65535) return p;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new PeerException(2, option + ": '" + text + "' is not a port " + min + "-65535");
    }
}
