package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.Status;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.KeptCode;
import dev.appshare.peer.share.Sharer;
import dev.appshare.wire.http.BasicAuth;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(
        name = "share",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        // header: the one line `appshare --help` lists; each description element is a paragraph
        // that picocli wraps.
        header = "Share local TCP ports under a code; prints the code.",
        description = {
            "Prints 'Name: CODE' once registered (e.g. cheerful-beaver-2087), then"
                    + " 'Ports: P, ...'; give that code to `appshare connect` on the other"
                    + " machine. The words are a password the server never sees; only the ports"
                    + " given are reachable. With --public, also prints 'URL: ...', a web address"
                    + " of the first port that anyone can open in a browser. With --keep-code"
                    + " FILE, a restarted share keeps its code. On a terminal, a status line below"
                    + " them shows the connectors, bytes, rates and connections. Runs until"
                    + " Ctrl-C."
        })
final class ShareCommand implements Callable<Integer> {
    private static final Status EMPTY = new Status(null, -1, 0, 0, 0, 0, 0);

    @Spec CommandSpec spec;

    @Option(
            names = "--port",
            required = true,
            paramLabel = "P|HOST:PORT",
            description = "A port to share (repeatable): P on --host, or HOST:PORT.")
    List<String> ports;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            paramLabel = "H",
            description = "The host bare --port values are on (default 127.0.0.1).")
    String host;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description =
                    "Ask for this name instead of a random number as the code's last part"
                            + " (the code is then WORD-WORD-NAME).")
    String name;

    @Option(
            names = "--public",
            description =
                    "Also make the first --port reachable at a web address of the server's HTTP"
                            + " gateway (prints 'URL: ...'); only that port, and only as HTTP."
                            + " The server sees that HTTP traffic, never the private tunnels'.")
    boolean makePublic;

    @Option(
            names = "--public-auth",
            paramLabel = "USER:PASSWORD",
            description =
                    "With --public: visitors must give these basic-auth credentials (checked at"
                            + " the gateway, which learns only their hash).")
    String publicAuth;

    @Option(
            names = "--keep-code",
            paramLabel = "FILE",
            description =
                    "Keep this share's key and code in FILE (created owner-only if missing) so that"
                        + " a restarted share comes back under the same code (and public URL). FILE"
                        + " is a secret: refused if its group or others have any permission on it.")
    Path keepCode;

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        Main.prestart();
        List<InetSocketAddress> targets = PortSpecs.shared(ports, host);
        // A bad --transport is a usage error before anything starts.
        boolean relayAllowed = peer.transport() != Transport.DIRECT;
        Sharer.PublicWeb web = null;
        if (publicAuth != null && !makePublic)
            throw new ParameterException(spec.commandLine(), "--public-auth needs --public");
        if (makePublic) {
            if (!relayAllowed)
                throw new ParameterException(
                        spec.commandLine(),
                        "--public needs the relay (the gateway reaches the share through it):"
                                + " drop --transport direct");
            if (publicAuth != null && publicAuth.indexOf(':') < 1)
                throw new ParameterException(spec.commandLine(), "--public-auth is USER:PASSWORD");
            web = new Sharer.PublicWeb(publicAuth == null ? null : BasicAuth.hash(publicAuth));
        }
        KeptCode kept = null;
        if (keepCode != null) {
            kept = KeptCode.open(keepCode, new SecureRandom());
            if (name != null && kept.name() != null && !name.equals(kept.name()))
                throw new ParameterException(
                        spec.commandLine(),
                        "--name "
                                + name
                                + " differs from the name kept in "
                                + keepCode
                                + " ("
                                + kept.name()
                                + "): drop --name, or give another --keep-code file");
        }
        Runner run = new Runner();
        Sharer sharer = null;
        Sharer[] shown = new Sharer[1];
        StatusLine status =
                StatusLine.startIfTerminal(
                        peer.quiet, true, () -> shown[0] == null ? EMPTY : shown[0].status());
        try {
            sharer =
                    new Sharer(
                            new Sharer.Config(peer.server(), targets, name, peer.paths())
                                    .withPublicWeb(web),
                            run.group,
                            status != null ? status.console() : Console.of(System.out),
                            kept);
            shown[0] = sharer;
            run.await(sharer.start());
            run.failOn(sharer.failure());
        } catch (Exception e) {
            if (sharer != null) sharer.close();
            if (status != null) status.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(sharer, status);
    }
}
