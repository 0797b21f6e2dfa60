package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
import dev.appshare.peer.connect.Connector;
import java.net.InetSocketAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "connect",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = {
            "Reach a share by its name on a local port. Prints 'Listening on ADDR:P', then",
            "'Path: ...' whenever the path carrying the tunnel changes. Runs until Ctrl-C."
        })
final class ConnectCommand implements Callable<Integer> {
    @Parameters(
            index = "0",
            paramLabel = "NAME",
            description = "The name `appshare share` printed.")
    String name;

    @Option(
            names = "--local",
            required = true,
            paramLabel = "P",
            description = "The local port to listen on.")
    int local;

    @Option(
            names = "--bind",
            defaultValue = "127.0.0.1",
            paramLabel = "ADDR",
            description = "The local address to listen on (default 127.0.0.1).")
    String bind;

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        if (local < 0 || local > 65535) throw new PeerException(2, "--local must be 0-65535");
        peer.transport(); // a bad --transport is a usage error before anything starts
        Runner run = new Runner();
        Connector connector = null;
        try {
            connector =
                    new Connector(
                            new Connector.Config(
                                    peer.server(),
                                    name,
                                    InetSocketAddress.createUnresolved(bind, local),
                                    peer.paths()),
                            run.group,
                            Console.of(System.out));
            run.await(connector.start());
        } catch (Exception e) {
            if (connector != null) connector.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(connector);
    }
}
