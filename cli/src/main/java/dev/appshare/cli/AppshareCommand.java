package dev.appshare.cli;

import picocli.CommandLine.Command;

@Command(
        name = "appshare",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        // The subcommands are added by Main: only the one named on the command line, as picocli
        // reads every option of every subcommand it is given (tens of ms each on a cold JVM).
        // One element per line as printed: picocli wraps an element longer than 80 columns
        // without indenting the rest, so each of these stays shorter.
        description = {
            "Share a local TCP port with another machine, peer to peer, through a self-hosted"
                    + " rendezvous.",
            "",
            "  appshare server                     the rendezvous and relay, on a public host",
            "  appshare share --port 3000          share port 3000; prints a code",
            "  appshare connect CODE --local 3000  reach that share at 127.0.0.1:3000",
            "  appshare doctor                     what this network allows (direct or relay)",
            "  appshare relay                      a standalone relay, for --external-relay",
            "  appshare completion bash            a completion script (bash or zsh)",
            ""
        })
final class AppshareCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // Main adds every subcommand when none is named, so this lists them all.
        throw new picocli.CommandLine.ParameterException(
                spec.commandLine(),
                "missing command: " + String.join(", ", spec.subcommands().keySet()));
    }
}
