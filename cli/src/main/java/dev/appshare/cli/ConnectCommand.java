package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.PeerException;
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
        header = "Reach a share by its code on local ports.",
        description = {
            "Prints 'Listening on ADDR:P' per --local (followed by ' -> port R' when there are"
                    + " several), then 'Path: ...' whenever the path carrying the tunnel changes."
                    + " On a terminal, a status line below them shows the path, round trip, bytes,"
                    + " rates and connections. Runs until Ctrl-C. With --stdio it carries one"
                    + " connection over stdin/stdout instead (for ssh's ProxyCommand): nothing"
                    + " else goes to stdout, and it exits when the connection ends."
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
            paramLabel = "P[:REMOTE]",
            description =
                    "A local port to listen on (repeatable), reaching the share's port REMOTE;"
                            + " P alone reaches the share's port P, or its only port if it shares"
                            + " one.")
    List<String> locals;

    @Option(
            names = "--bind",
            defaultValue = "127.0.0.1",
            paramLabel = "ADDR",
            description = "The local address to listen on (default 127.0.0.1).")
    String bind;

    @Option(
            names = "--stdio",
            description =
                    "Carry one connection over stdin/stdout instead of listening on local ports,"
                            + " e.g. ssh -o ProxyCommand='appshare connect CODE --stdio' user@x."
                            + " Reaches the share's only port, or --stdio-port's. Exits when the"
                            + " connection ends: stdin's end half-closes it, and the share's end of"
                            + " it ends the command.")
    boolean stdio;

    @Option(
            names = "--stdio-port",
            paramLabel = "REMOTE",
            description = "With --stdio: the share's port to reach (for a share of several ports).")
    Integer stdioPort;

    @Mixin PeerOptions peer = new PeerOptions();

    @Override
    public Integer call() throws Exception {
        Timeline.mark("command line parsed");
        if (stdio == (locals != null))
            throw new PeerException(2, "give either --local (one or more) or --stdio");
        if (stdioPort != null && !stdio)
            throw new PeerException(2, "--stdio-port goes with --stdio");
        Main.prestart();
        List<Connector.Forward> forwards =
                stdio ? List.of(StdioPump.forward(stdioPort)) : PortSpecs.forwards(locals, bind);
        // --stdio: stdout carries the tunnelled bytes only, so anything printed goes to stderr
        StdioPump pump = stdio ? StdioPump.takeStdout() : null;
        peer.transport(); // a bad --transport is a usage error before anything starts
        Runner run = new Runner();
        Timeline.mark("event loop up");
        Connector connector = null;
        Connector[] shown = new Connector[1];
        StatusLine status =
                StatusLine.startIfTerminal(
                        // --stdio: stdout is the tunnelled connection's, never a status line's
                        peer.quiet || stdio,
                        false,
                        () -> shown[0] == null ? EMPTY : shown[0].status());
        try {
            connector =
                    new Connector(
                            new Connector.Config(peer.server(), name, forwards, peer.paths()),
                            run.group,
                            stdio
                                    ? StdioPump.console()
                                    : status != null ? status.console() : Console.of(System.out));
            shown[0] = connector;
            Timeline.mark("identity ready");
            run.await(connector.start());
        } catch (Exception e) {
            if (connector != null) connector.close();
            if (status != null) status.close();
            run.shutdown();
            throw e;
        }
        if (pump != null && !run.stop.isTriggered()) {
            connector.admitOnly(pump.bind());
            pump.connect(connector.localAddress());
            pump.start(run.stop::trigger);
        }
        int exit = run.awaitStop(connector, pump != null ? pump : () -> {}, status);
        if (pump != null && pump.broken())
            throw new PeerException(
                    1,
                    "the connection through the share broke or was refused"
                            + (stdioPort == null
                                    ? " (a share of several ports needs --stdio-port)"
                                    : ""));
        return exit;
    }
}
