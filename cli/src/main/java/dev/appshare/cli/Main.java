package dev.appshare.cli;

import dev.appshare.peer.PeerException;
import dev.appshare.peer.Prestart;
import dev.appshare.peer.Timeline;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;

/** Entry point: {@code appshare <command> [options]}. */
public final class Main {
    private Main() {}

    /** The subcommands, in the order the usage lists them. */
    private static final Map<String, Supplier<Object>> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("server", ServerCommand::new);
        COMMANDS.put("relay", RelayCommand::new);
        COMMANDS.put("share", ShareCommand::new);
        COMMANDS.put("connect", ConnectCommand::new);
        COMMANDS.put("doctor", DoctorCommand::new);
        COMMANDS.put("completion", CompletionCommand::new);
    }

    public static void main(String[] args) {
        Timeline.mark("main entered");
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // what picocli prints for it, without loading picocli, logging or anything else
            for (String line : new Version().getVersion()) System.out.println(line);
            System.exit(0);
        }
        nettyDefaults();
        String command = command(args);
        // connect and share begin their command-line-independent cold-start work (Prestart) once
        // their options are parsed: begun here, it slowed the parse more than it gained
        // (-Dappshare.prestart=main: here; false: not at all; to measure what each gains)
        if (("connect".equals(command) || "share".equals(command))
                && "main".equals(System.getProperty("appshare.prestart"))) Prestart.start();
        boolean verbose =
                Arrays.asList(args).contains("--verbose") || Arrays.asList(args).contains("-v");
        boolean quiet =
                Arrays.asList(args).contains("--quiet") || Arrays.asList(args).contains("-q");
        Logging.configure(verbose, quiet);
        Timeline.mark("logging configured");
        System.exit(run(verbose, args));
    }

    /**
     * netty's settings for a command, unless given on the command line (the tests keep netty's
     * defaults: they run without Main). Training sets them too, so that its archive holds what a
     * command loads.
     */
    static void nettyDefaults() {
        // netty's leak detector samples buffers and records where they were used: a cost on every
        // datagram for a report only a developer reads. -Dio.netty.leakDetection.level=simple
        // turns it back on.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            System.setProperty("io.netty.leakDetection.level", "disabled");
        }
        // netty 4.2's allocators emit JFR events. Without a recording that buys nothing, but the
        // first buffer of a process then loads JFR's event machinery (annotations, proxies,
        // generated handler classes): ~110 ms of a cold start, on the way to a connect's first
        // byte. -Dio.netty.jfr.enabled=true turns them back on, for a recording.
        if (System.getProperty("io.netty.jfr.enabled") == null) {
            System.setProperty("io.netty.jfr.enabled", "false");
        }
    }

    /**
     * Starts {@link Prestart} unless {@code -Dappshare.prestart=false} or {@code main} (started in
     * main already).
     */
    static void prestart() {
        String when = System.getProperty("appshare.prestart", "parsed");
        if (!when.equals("false") && !when.equals("main")) Prestart.start();
    }

    /** The subcommand named on the command line (the first argument that is one), or null. */
    static String command(String... args) {
        for (String a : args) if (COMMANDS.containsKey(a)) return a;
        return null;
    }

    /** The command line with every subcommand, for the completion script. */
    static CommandLine fullCommandLine() {
        CommandLine cli = new CommandLine(new AppshareCommand());
        COMMANDS.forEach((name, make) -> cli.addSubcommand(name, make.get()));
        return cli;
    }

    static int run(boolean verbose, String... args) {
        CommandLine cli = new CommandLine(new AppshareCommand());
        // Only the named subcommand (all of them when none is named: the usage lists them all):
        // picocli inspects every option of every subcommand it is given.
        String command = command(args);
        COMMANDS.forEach(
                (name, make) -> {
                    if (command == null || command.equals(name))
                        cli.addSubcommand(name, make.get());
                });
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
