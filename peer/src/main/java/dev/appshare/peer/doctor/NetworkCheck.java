package dev.appshare.peer.doctor;

import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.RelayAddress;
import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.ice4j.message.Request;

/**
 * {@code appshare doctor}'s checks, run in parallel, each on its own socket so that none spoils
 * another's finding (a socket that has sent to the server's second port would let its answers in,
 * and the filtering check must use one that never did):
 *
 * <ul>
 *   <li>TCP: HELLO to the rendezvous (its round trip, the relay address, both STUN ports), then a
 *       TCP connect to the relay.
 *   <li>mapping: one socket asks both STUN ports; the same public address from both means a NAT
 *       that keeps one mapping per socket; then it sends to its own public address (hairpinning).
 *   <li>filtering: a fresh socket asks the first port to answer from the second (CHANGE-REQUEST).
 *   <li>payload: padded questions of growing sizes, each answered as large.
 *   <li>IPv6: this host's global IPv6 addresses, and a STUN question over IPv6 when the server has
 *       an IPv6 address.
 * </ul>
 */
public final class NetworkCheck {
    /** The payload sizes tried: the 576-byte minimum datagram, QUIC's minimum, IPv6's 1280, ... */
    static final int[] PAYLOADS = {548, 1200, 1232, 1280, 1400, 1452, 1472};

    /** How long a TCP connect or the HELLO may take. */
    static final long TCP_TIMEOUT_MILLIS = 3_000;

    /** How long the hairpin check listens for its own datagram. */
    static final long HAIRPIN_MILLIS = 600;

    private NetworkCheck() {}

    /** Runs every check against {@code server} (unresolved or resolved) and returns what it saw. */
    public static Findings run(String serverText, InetSocketAddress server)
            throws InterruptedException {
        InetAddress[] all;
        try {
            all = InetAddress.getAllByName(server.getHostString());
        } catch (UnknownHostException e) {
            return unreachable(serverText, "cannot resolve " + server.getHostString());
        }
        InetAddress primary =
                Arrays.stream(all)
                        .filter(a -> a instanceof Inet4Address)
                        .findFirst()
                        .orElse(all[0]);
        InetAddress v6 =
                Arrays.stream(all).filter(a -> a instanceof Inet6Address).findFirst().orElse(null);
        InetSocketAddress stun = new InetSocketAddress(primary, server.getPort());

        ExecutorService pool = Executors.newFixedThreadPool(5, NetworkCheck::daemon);
        AtomicReference<Double> rtt = new AtomicReference<>();
        EventLoopGroup group = EventLoops.newGroup(1);
        try {
            CompletableFuture<Object> hello =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    ServerHello.Welcome w =
                                            ServerHello.ask(group, stun, TCP_TIMEOUT_MILLIS);
                                    rtt.set(connect(stun));
                                    return w;
                                } catch (Exception e) {
                                    return e.getMessage() == null ? e.toString() : e.getMessage();
                                }
                            },
                            pool);
            CompletableFuture<Mapping> mapping =
                    CompletableFuture.supplyAsync(() -> mapping(primary, stun, hello), pool);
            CompletableFuture<Boolean> filtering =
                    CompletableFuture.supplyAsync(() -> filtering(primary, stun, hello), pool);
            CompletableFuture<List<Integer>> payload =
                    CompletableFuture.supplyAsync(() -> payloads(primary, stun), pool);
            CompletableFuture<InetSocketAddress> ipv6 =
                    CompletableFuture.supplyAsync(
                            () ->
                                    v6 == null
                                            ? null
                                            : ask(v6, new InetSocketAddress(v6, server.getPort())),
                            pool);
            Object h = hello.join();
            ServerHello.Welcome welcome = h instanceof ServerHello.Welcome w ? w : null;
            InetSocketAddress relay = null;
            Double relayMillis = null;
            String relayError = null;
            if (welcome != null) {
                try {
                    relay = resolve(RelayAddress.parse(welcome.relay(), stun));
                    relayMillis = connect(relay);
                } catch (Exception e) {
                    relayError = e.getMessage() == null ? e.toString() : e.getMessage();
                }
            } else {
                relayError = "not known: the rendezvous did not answer";
            }
            Mapping m = mapping.join();
            List<Integer> passed = payload.join();
            Boolean open = filtering.join();
            List<String> v6Addresses = globalIpv6();
            InetSocketAddress v6Mapped = ipv6.join();
            String v6Note =
                    v6 == null
                            ? "the server has no IPv6 address"
                            : v6Mapped == null ? "no STUN answer over IPv6" : null;
            return new Findings(
                    serverText,
                    welcome,
                    welcome == null ? (String) h : null,
                    rtt.get(),
                    relay,
                    relayMillis,
                    relayError,
                    m.localPort,
                    m.first == null ? null : m.first.mapped(),
                    m.second == null ? null : m.second.mapped(),
                    m.altPort,
                    m.first == null
                            ? null
                            : m.second == null
                                    ? m.first.rttMillis()
                                    : Math.min(m.first.rttMillis(), m.second.rttMillis()),
                    m.first != null && isOwn(m.first.mapped().getAddress()),
                    m.first == null ? null : open,
                    m.hairpin,
                    passed.isEmpty() ? 0 : passed.get(passed.size() - 1),
                    tried(primary),
                    v6Addresses,
                    v6Mapped,
                    v6Note);
        } finally {
            pool.shutdownNow();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        }
    }

    /** The mapping check's results. */
    private static final class Mapping {
        int localPort;
        StunProber.Answer first, second;
        int altPort = -1;
        Boolean hairpin;
    }

    private static Mapping mapping(
            InetAddress family, InetSocketAddress stun, CompletableFuture<Object> hello) {
        Mapping m = new Mapping();
        try (StunProber a = new StunProber(anyLocal(family))) {
            m.localPort = a.localPort();
            m.first = a.ask(StunProber.to(stun, List.of(StunProber.binding()))).get(0);
            if (m.first == null) return m;
            m.altPort = m.first.otherPort() > 0 ? m.first.otherPort() : welcomeAlt(hello);
            if (m.altPort > 0) {
                InetSocketAddress alt = new InetSocketAddress(stun.getAddress(), m.altPort);
                m.second = a.ask(StunProber.to(alt, List.of(StunProber.binding()))).get(0);
            }
            if (!isOwn(m.first.mapped().getAddress()))
                m.hairpin = a.hearsItself(m.first.mapped(), HAIRPIN_MILLIS);
        } catch (IOException e) {
            // a socket that cannot be opened or used: the findings stay empty
        }
        return m;
    }

    /**
     * True if an answer the first port sent from the second got in through a socket that never sent
     * there; false if none did; null if the server did not honour the request (an answer from the
     * first port) or the socket failed.
     */
    private static Boolean filtering(
            InetAddress family, InetSocketAddress stun, CompletableFuture<Object> hello) {
        try (StunProber b = new StunProber(anyLocal(family))) {
            StunProber.Answer a =
                    b.ask(StunProber.to(stun, List.of(StunProber.changePort()))).get(0);
            if (a == null) return false;
            return a.from().getPort() != stun.getPort() ? Boolean.TRUE : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The payload sizes answered at their size, smallest first. */
    private static List<Integer> payloads(InetAddress family, InetSocketAddress stun) {
        List<Integer> passed = new ArrayList<>();
        List<Request> asks = new ArrayList<>();
        for (int size : tried(family)) asks.add(StunProber.padded(size));
        try (StunProber c = new StunProber(anyLocal(family))) {
            Map<Integer, StunProber.Answer> answers = c.ask(StunProber.to(stun, asks));
            for (int i = 0; i < asks.size(); i++) {
                StunProber.Answer a = answers.get(i);
                if (a != null && a.size() > PAYLOADS[i] - 4) passed.add(PAYLOADS[i]);
            }
        } catch (IOException e) {
            // none passed
        }
        return passed;
    }

    /** The payload sizes that fit a 1500-byte packet of {@code family}'s IP, smallest first. */
    private static List<Integer> tried(InetAddress family) {
        int max = family instanceof Inet6Address ? 1452 : 1472; // less the IP and UDP headers
        return Arrays.stream(PAYLOADS).filter(s -> s <= max).boxed().toList();
    }

    private static InetSocketAddress ask(InetAddress family, InetSocketAddress stun) {
        try (StunProber d = new StunProber(anyLocal(family))) {
            StunProber.Answer a = d.ask(StunProber.to(stun, List.of(StunProber.binding()))).get(0);
            return a == null ? null : a.mapped();
        } catch (IOException e) {
            return null;
        }
    }

    private static int welcomeAlt(CompletableFuture<Object> hello) {
        try {
            return hello.get(TCP_TIMEOUT_MILLIS + 1_000, TimeUnit.MILLISECONDS)
                            instanceof ServerHello.Welcome w
                    ? w.altPort()
                    : -1;
        } catch (Exception e) {
            return -1;
        }
    }

    /**
     * One round trip to {@code to} over TCP, in ms: the quicker of two connects (SYN, SYN-ACK), the
     * first paying for this process's first use of the socket classes. Throws with the reason in
     * words.
     */
    private static double connect(InetSocketAddress to) throws IOException {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
            try (Socket s = new Socket()) {
                long start = System.nanoTime();
                s.connect(to, (int) TCP_TIMEOUT_MILLIS);
                best = Math.min(best, (System.nanoTime() - start) / 1e6);
            } catch (IOException e) {
                throw new IOException(ServerHello.reason(e), e);
            }
        }
        return best;
    }

    private static InetSocketAddress resolve(InetSocketAddress a) throws UnknownHostException {
        if (!a.isUnresolved()) return a;
        return new InetSocketAddress(InetAddress.getByName(a.getHostString()), a.getPort());
    }

    private static boolean isOwn(InetAddress a) {
        return HostAddresses.all().contains(a);
    }

    /** This host's IPv6 addresses that reach beyond it: not loopback, link-local or ULA. */
    static List<String> globalIpv6() {
        List<String> out = new ArrayList<>();
        for (InetAddress a : HostAddresses.all()) {
            if (!(a instanceof Inet6Address) || a.isLoopbackAddress() || a.isSiteLocalAddress())
                continue;
            if ((a.getAddress()[0] & 0xfe) == 0xfc) continue; // fc00::/7, unique local
            out.add(a.getHostAddress());
        }
        return out;
    }

    private static InetAddress anyLocal(InetAddress family) throws UnknownHostException {
        return InetAddress.getByAddress(new byte[family instanceof Inet6Address ? 16 : 4]);
    }

    private static Findings unreachable(String server, String why) {
        return new Findings(
                server,
                null,
                why,
                null,
                null,
                null,
                "not known: the rendezvous did not answer",
                0,
                null,
                null,
                -1,
                null,
                false,
                null,
                null,
                0,
                Arrays.stream(PAYLOADS).boxed().toList(),
                globalIpv6(),
                null,
                "not asked");
    }

    private static Thread daemon(Runnable r) {
        Thread t = new Thread(r, "doctor");
        t.setDaemon(true);
        return t;
    }
}
