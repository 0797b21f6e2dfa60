package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.Timeline;
import dev.appshare.peer.connect.Connector;
import java.util.List;
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
            "Reach a share by its code on local ports. Prints 'Listening on ADDR:P' per --local,",
            "then 'Path: ...' whenever the path carrying the tunnel changes. Runs until Ctrl-C."
        })
final class ConnectCommand implements Callable<Integer> {
    @Parameters(
            index = "0",
            paramLabel = "CODE",
            description = "The code `appshare share` printed, e.g. cheerful-beaver-2087.")
    String name;

    @Option(
            names = "--local",
            required = true,
            paramLabel = "P[:REMOTE]",
            description = {
                "A local port to listen on (repeatable), reaching the share's port REMOTE;",
                "P alone reaches the share's port P, or its only port if it shares one."
            })
    List<String> locals;

    @Option(
            names = "--bind",
            defaultValue = "127.0.0.1",
            paramLabel = "ADDR",
            description = "The local address to listen on (default 127.0.0.1).")
    String bind;

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        Timeline.mark("command line parsed");
        Main.prestart();
        List<Connector.Forward> forwards = PortSpecs.forwards(locals, bind);
        peer.transport(); // a bad --transport is a usage error before anything starts
        Runner run = new Runner();
        Timeline.mark("event loop up");
        Connector connector = null;
        try {
            connector =
                    new Connector(
                            new Connector.Config(peer.server(), name, forwards, peer.paths()),
                            run.group,
                            Console.of(System.out));
            Timeline.mark("identity ready");
            run.await(connector.start());
        } catch (Exception e) {
            if (connector != null) connector.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(connector);
    }
}
