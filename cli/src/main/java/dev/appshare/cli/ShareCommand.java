package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
import dev.appshare.peer.share.Sharer;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "share",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = {
            "Share a local TCP port. Prints 'Name: NAME' once registered; give that name to",
            "`appshare connect` on the other machine. Runs until Ctrl-C."
        })
final class ShareCommand implements Callable<Integer> {
    @Option(
            names = "--port",
            required = true,
            paramLabel = "P",
            description = "The local port to share.")
    int port;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            paramLabel = "H",
            description = "The host the shared port is on (default 127.0.0.1).")
    String host;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description = "Ask for this name instead of a random one.")
    String name;

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        if (port < 1 || port > 65535) throw new PeerException(2, "--port must be 1-65535");
        peer.transport(); // a bad --transport is a usage error before anything starts
        Runner run = new Runner();
        Sharer sharer = null;
        try {
            sharer =
                    new Sharer(
                            new Sharer.Config(
                                    peer.server(),
                                    InetSocketAddress.createUnresolved(host, port),
                                    name,
                                    peer.paths()),
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
