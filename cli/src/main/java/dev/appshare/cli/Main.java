package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import java.util.Arrays;
import picocli.CommandLine;

/** Entry point: {@code appshare <command> [options]}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        boolean verbose =
                Arrays.asList(args).contains("--verbose") || Arrays.asList(args).contains("-v");
        Logging.configure(verbose);
        System.exit(run(verbose, args));
    }

    static int run(boolean verbose, String... args) {
        CommandLine cli = new CommandLine(new AppshareCommand());
        cli.setExecutionExceptionHandler(
                (e, cmd, parsed) -> {
                    if (e instanceof PeerException pe) {
                        cmd.getErr().println("appshare: " + pe.getMessage());
                        if (verbose) pe.printStackTrace(cmd.getErr());
                        return pe.exitCode();
                    }
                    cmd.getErr()
                            .println(
                                    "appshare: "
                                            + e
                                            + (verbose ? "" : " (run with --verbose for details)"));
                    if (verbose) e.printStackTrace(cmd.getErr());
                    return 1;
                });
        cli.setParameterExceptionHandler(
                (e, a) -> {
                    CommandLine cmd = e.getCommandLine();
                    cmd.getErr().println("appshare: " + e.getMessage());
                    cmd.getErr()
                            .println(
                                    "Try '"
                                            + cmd.getCommandSpec().qualifiedName()
                                            + " --help' for usage.");
                    return 2;
                });
        return cli.execute(args);
    }
}
