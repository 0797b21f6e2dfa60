package dev.appshare.peer.ice;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The local addresses offered as host candidates: every address of every interface that is up, IPv4
 * and IPv6, loopback included (two peers on one machine, and our loopback tests, need it); IPv6
 * link-local is left out, as it needs a scope that the other peer cannot use.
 */
public final class HostAddresses {
    private HostAddresses() {}

    public static List<InetAddress> all() {
        List<InetAddress> out = listed();
        return out != null && !out.isEmpty() ? out : List.of(InetAddress.getLoopbackAddress());
    }

    /**
     * As {@link #all}, or null when the interfaces cannot be listed (rather than a partial list,
     * which would look like a change to {@link AddressWatch}); empty when none is up.
     */
    static List<InetAddress> listed() {
        List<InetAddress> out = new ArrayList<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp()) continue;
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (a instanceof Inet6Address
                            && (a.isLinkLocalAddress() || a.isMulticastAddress())) continue;
                    out.add(stripScope(a));
                }
            }
        } catch (SocketException | RuntimeException e) {
            return null; // no interface list (all() falls back to loopback)
        }
        return out;
    }

    /**
     * The local address this machine's routes send from towards {@code remote}, or null if there is
     * no route: a connected UDP socket asks the kernel, and no datagram is sent.
     */
    public static InetAddress toward(InetAddress remote) {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(remote, 9);
            InetAddress local = s.getLocalAddress();
            return local == null || local.isAnyLocalAddress() ? null : stripScope(local);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Loopback only (127.0.0.1): what tests on one machine use. */
    public static List<InetAddress> loopback() {
        return List.of(InetAddress.getLoopbackAddress());
    }

    /**
     * A comma-separated list of address literals; throws IllegalArgumentException on anything else.
     */
    public static List<InetAddress> parse(String list) {
        List<InetAddress> out = new ArrayList<>();
        for (String a : list.split(",")) out.add(literal(a.trim()));
        return out;
    }

    /**
     * An IPv4 or IPv6 address literal; never a name, so this never reaches DNS: IPv4 is parsed
     * here, and anything else must look like IPv6 (hex digits and colons, starting with either),
     * which InetAddress parses as a literal or refuses, without a lookup.
     */
    public static InetAddress literal(String s) {
        try {
            if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
                byte[] b = new byte[4];
                String[] octets = s.split("\\.");
                for (int i = 0; i < 4; i++) {
                    int v = Integer.parseInt(octets[i]);
                    if (v > 255)
                        throw new IllegalArgumentException("not an IP address: '" + s + "'");
                    b[i] = (byte) v;
                }
                return InetAddress.getByAddress(b);
            }
            if (s.matches("[0-9a-fA-F:][0-9a-fA-F:.]{1,44}") && s.indexOf(':') >= 0) {
                return InetAddress.getByName(s);
            }
        } catch (UnknownHostException e) {
            // an invalid IPv6 literal
        }
        throw new IllegalArgumentException("not an IP address literal: '" + s + "'");
    }

    private static InetAddress stripScope(InetAddress a) {
        if (!(a instanceof Inet6Address)) return a;
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (UnknownHostException e) {
            return a;
        }
    }
}
