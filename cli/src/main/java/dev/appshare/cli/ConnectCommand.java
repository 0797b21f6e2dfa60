package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.Status;
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
            "then 'Path: ...' whenever the path carrying the tunnel changes. On a terminal, a",
            "status line below them shows the path, round trip, bytes, rates and connections.",
            "Runs until Ctrl-C."
        })
final class ConnectCommand implements Callable<Integer> {
    private static final Status EMPTY = new Status(null, -1, 0, 0, 0, -1, 0);

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
        Connector[] shown = new Connector[1];
        StatusLine status =
                StatusLine.startIfTerminal(
                        peer.quiet, false, () -> shown[0] == null ? EMPTY : shown[0].status());
        try {
            connector =
                    new Connector(
                            new Connector.Config(peer.server(), name, forwards, peer.paths()),
                            run.group,
                            status != null ? status.console() : Console.of(System.out));
            shown[0] = connector;
            Timeline.mark("identity ready");
            run.await(connector.start());
        } catch (Exception e) {
            if (connector != null) connector.close();
            if (status != null) status.close();
            run.shutdown();
            throw e;
        }
        return run.awaitStop(connector, status);
    }
}
