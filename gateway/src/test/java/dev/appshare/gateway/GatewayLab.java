package dev.appshare.gateway;

import dev.appshare.peer.Console;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.rendezvous.PublicUrls;
import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * {@code appshare server --http-listen} in one JVM on loopback, wired as ServerCommand wires it:
 * the gateway bound first (on an ephemeral port), the server (rendezvous and embedded relay) told
 * its URLs, the gateway attached to the rendezvous and dialling the embedded relay; shares are real
 * {@link Sharer}s over the relay, origins real netty servers ({@link Origin}).
 */
final class GatewayLab implements AutoCloseable {
    static {
        // ice4j logs through java.util.logging: into slf4j, at WARN, as the command line does.
        LogManager.getLogManager().reset();
        SLF4JBridgeHandler.install();
        Logger.getLogger("").setLevel(Level.WARNING);
    }

    static final String DOMAIN = "localhost";

    final EventLoopGroup group = EventLoops.newGroup(2);
    final PublicGateway gateway;
    final AppshareServer server;
    final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    GatewayLab() throws Exception {
        this(new PublicGateway.Options(new InetSocketAddress("127.0.0.1", 0), DOMAIN));
    }

    /**
     * A lab whose gateway serves HTTPS with {@code cert} (its files written to {@code dir}) and
     * plain HTTP that redirects to it, both on loopback.
     */
    static GatewayLab https(
            java.nio.file.Path dir, io.netty.handler.ssl.util.SelfSignedCertificate cert)
            throws Exception {
        java.nio.file.Path certFile = dir.resolve("cert.pem");
        java.nio.file.Path keyFile = dir.resolve("key.pem");
        java.nio.file.Files.copy(cert.certificate().toPath(), certFile);
        java.nio.file.Files.copy(cert.privateKey().toPath(), keyFile);
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        return new GatewayLab(new PublicGateway.Options(any, any, DOMAIN, certFile, keyFile));
    }

    /** A TLS client context that trusts these test certificates only. */
    static javax.net.ssl.SSLContext trusting(
            io.netty.handler.ssl.util.SelfSignedCertificate... certs) throws Exception {
        java.security.KeyStore trust =
                java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
        trust.load(null, null);
        for (int i = 0; i < certs.length; i++) trust.setCertificateEntry("c" + i, certs[i].cert());
        javax.net.ssl.TrustManagerFactory tmf =
                javax.net.ssl.TrustManagerFactory.getInstance(
                        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** With these listeners (e.g. HTTPS; the domain must be {@link #DOMAIN}). */
    GatewayLab(PublicGateway.Options options) throws Exception {
        gateway = PublicGateway.bind(options, group);
        try {
            server =
                    AppshareServer.start(
                            AppshareServer.Options.of(new InetSocketAddress("127.0.0.1", 0))
                                    // every lab client is 127.0.0.1: no per-address budget may
                                    // cut it
                                    .withLimits(ClientLimits.oneAddressLab())
                                    .withPublicUrls(gateway.urls()),
                            new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()),
                            group);
        } catch (Exception e) {
            gateway.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        InetSocketAddress relay = server.relay().localAddress();
        gateway.attach(server.rendezvous(), field -> relay);
    }

    Origin origin(String tag) throws InterruptedException {
        Origin o = Origin.start(group, tag);
        closeables.add(o);
        return o;
    }

    /** A share of {@code targets} named {@code name}; public if {@code web} is not null. */
    Sharer share(List<InetSocketAddress> targets, String name, Sharer.PublicWeb web)
            throws Exception {
        Sharer.Config c =
                new Sharer.Config(
                        server.rendezvous().localAddress(),
                        targets,
                        name,
                        new PathOptions(
                                Transport.RELAY,
                                HostAddresses.loopback(),
                                PathOptions.ICE_TIMEOUT_MILLIS,
                                null,
                                Resolver.JDK));
        if (web != null) c = c.withPublicWeb(web);
        Console console = lines::add;
        Sharer s = new Sharer(c, group, console);
        closeables.add(s);
        s.start().get(20, TimeUnit.SECONDS);
        return s;
    }

    Sharer sharePublic(Origin origin, String name) throws Exception {
        return share(List.of(origin.address()), name, new Sharer.PublicWeb(null));
    }

    /** The label the share registered as {@code name} has (or would have, if it were public). */
    String label(String name) {
        ShareRegistry.Share s = server.rendezvous().registry().lookup(name);
        if (s == null) throw new AssertionError("no share " + name);
        return PublicUrls.label(s.owner());
    }

    int port() {
        return gateway.httpAddress().getPort();
    }

    /** The Host a browser sends for {@code label}'s URL. */
    String host(String label) {
        return label + "." + DOMAIN + ":" + port();
    }

    /** A visitor's connection to the gateway. */
    Socket visit() throws Exception {
        Socket s = new Socket("127.0.0.1", port());
        s.setSoTimeout(30_000);
        return s;
    }

    @Override
    public void close() throws Exception {
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception ignored) {
                // already closed by the test
            }
        }
        gateway.close();
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
