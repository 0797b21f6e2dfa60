package dev.appshare.cli;

import dev.appshare.peer.Prestart;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.ice.HostAddresses;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.Sharer;
import dev.appshare.rendezvous.AppshareServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The training run of the class-data archive that scripts/appshare builds (JDK 17's AppCDS: this
 * run with {@code -XX:DumpLoadedClassList}, then {@code -Xshare:dump} of that list, then {@code
 * -XX:SharedArchiveFile} on every start): picocli's parse of each command's options, then in one
 * process a rendezvous with its relay, a share of a small TCP server and a connect to it, all on
 * loopback, one request through the relay path and one through the direct path once ICE found it;
 * then it exits, and the classes it loaded go into the archive. Every class of {@code server},
 * {@code share} and {@code connect} is then ready-parsed and verified on later starts. Not a
 * command: {@code java -cp appshare.jar dev.appshare.cli.Training}; exits 0 when both requests were
 * answered, 1 otherwise (within about 20 s). With {@code -Dappshare.native.dir=DIR} it also unpacks
 * the native libraries there ({@link NativeLibs}).
 */
final class Training {
    private Training() {}

    public static void main(String[] args) throws Exception {
        Main.nettyDefaults();
        Logging.configure(false);
        boolean ok = run();
        String nativeDir = System.getProperty("appshare.native.dir");
        if (ok && nativeDir != null) {
            try {
                Path jar =
                        Path.of(
                                Training.class
                                        .getProtectionDomain()
                                        .getCodeSource()
                                        .getLocation()
                                        .toURI());
                int n = NativeLibs.unpack(jar, Path.of(nativeDir));
                System.out.println("native libraries unpacked: " + n);
            } catch (Exception e) {
                // only a faster start lost: netty unpacks what is missing from the jar itself
                System.out.println("native libraries not unpacked: " + e);
            }
        }
        System.exit(ok ? 0 : 1);
    }

    /** The training's work: true when both requests through the tunnel were answered. */
    static boolean run() throws Exception {
        Main.command("connect"); // the launcher's own classes
        parseCommandLines();
        Prestart.start();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        HostAddresses.all(); // what connect and share look up, though only loopback is used here
        PathOptions paths =
                new PathOptions(
                        Transport.AUTO, List.of(loopback), PathOptions.ICE_TIMEOUT_MILLIS, null);
        EventLoopGroup group = EventLoops.newGroup(2);
        boolean ok = false;
        try (ServerSocket target = new ServerSocket(0, 50, loopback)) {
            Thread answering = new Thread(() -> answer(target), "training-target");
            answering.setDaemon(true);
            answering.start();
            AppshareServer server =
                    AppshareServer.start(
                            AppshareServer.Options.of(new InetSocketAddress(loopback, 0)),
                            new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()),
                            group);
            InetSocketAddress rendezvous = server.rendezvous().localAddress();
            Sharer sharer =
                    new Sharer(
                            new Sharer.Config(
                                    rendezvous,
                                    new InetSocketAddress(loopback, target.getLocalPort()),
                                    null,
                                    paths),
                            group,
                            line -> {});
            CountDownLatch direct = new CountDownLatch(1);
            Connector connector = null;
            try {
                String code = sharer.start().get(10, TimeUnit.SECONDS);
                connector =
                        new Connector(
                                new Connector.Config(
                                        rendezvous,
                                        code,
                                        new InetSocketAddress(loopback, 0),
                                        paths),
                                group,
                                line -> {
                                    if (line.startsWith("Path: direct")) direct.countDown();
                                });
                connector.start().get(10, TimeUnit.SECONDS);
                ok =
                        request(connector.localAddress())
                                && direct.await(10, TimeUnit.SECONDS)
                                && request(connector.localAddress());
            } finally {
                if (connector != null) connector.close();
                sharer.close();
                server.close();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(3, TimeUnit.SECONDS);
        }
        return ok;
    }

    /**
     * picocli's part of a start: each command's options parsed as the commands' own starts parse
     * them (not run), so that its classes and the commands' are in the archive too.
     */
    private static void parseCommandLines() {
        for (String[] args :
                List.of(
                        new String[] {"connect", "a-b-1", "--local", "3000", "--quiet"},
                        new String[] {"share", "--port", "3000", "--name", "x"},
                        new String[] {"server", "--listen", "127.0.0.1:7000"},
                        new String[] {"doctor"})) {
            Main.fullCommandLine().parseArgs(args);
        }
    }

    /** One HTTP-like exchange through the tunnel; true when the whole answer came. */
    private static boolean request(InetSocketAddress at) {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(at, 5_000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)
                    .endsWith("trained");
        } catch (Exception e) {
            return false;
        }
    }

    /** The shared "service": answers each connection after its request's first bytes. */
    private static void answer(ServerSocket target) {
        while (!target.isClosed()) {
            try (Socket s = target.accept()) {
                InputStream in = s.getInputStream();
                in.read(new byte[256]);
                OutputStream out = s.getOutputStream();
                out.write(
                        "HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\ntrained"
                                .getBytes(StandardCharsets.US_ASCII));
            } catch (Exception e) {
                // closed at the end, or a connection that went away
            }
        }
    }
}
