package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.share.Sharer;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "share",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = {
            "Share local TCP ports. Prints 'Name: CODE' once registered (e.g.",
            "cheerful-beaver-2087), then 'Ports: P, ...'; give that code to `appshare connect`",
            "on the other machine. The words are a password the server never sees; only the",
            "ports given are reachable. Runs until Ctrl-C."
        })
final class ShareCommand implements Callable<Integer> {
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

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        Main.prestart();
        List<InetSocketAddress> targets = PortSpecs.shared(ports, host);
        peer.transport(); // a bad --transport is a usage error before anything starts
        Runner run = new Runner();
        Sharer sharer = null;
        try {
            sharer =
                    new Sharer(
                            new Sharer.Config(peer.server(), targets, name, peer.paths()),
                            run.group,
                            Console.of(System.out));
            run.await(sharer.start());
            run.failOn(sharer.failure());
        } catch (Exception e) {
            if (sharer != null) sharer.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(sharer);
    }
}
