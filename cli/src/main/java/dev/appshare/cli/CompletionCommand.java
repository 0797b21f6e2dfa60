package dev.appshare.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(
        name = "completion",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        header = "Print a shell completion script for appshare (bash or zsh).",
        description = {
            "Made by picocli's generator. For example:",
            "  source <(appshare completion bash)     in ~/.bashrc",
            "  source <(appshare completion zsh)      in ~/.zshrc (zsh runs the same script",
            "                                         through bashcompinit, which it loads)"
        })
final class CompletionCommand implements Callable<Integer> {
    @Parameters(
            index = "0",
            paramLabel = "SHELL",
            description = "bash or zsh.",
            completionCandidates = Shells.class)
    String shell;

    static final class Shells extends java.util.ArrayList<String> {
        Shells() {
            super(java.util.List.of("bash", "zsh"));
        }
    }

    @Override
    public Integer call() {
        if (!shell.equals("bash") && !shell.equals("zsh"))
            throw new dev.appshare.peer.PeerException(
                    2, "completion: '" + shell + "' is not a shell this knows: bash or zsh");
        // picocli's script runs in bash, and in zsh through bashcompinit (it loads compinit and
        // bashcompinit itself when $ZSH_VERSION is set)
        System.out.print(AutoComplete.bash("appshare", Main.fullCommandLine()));
        System.out.flush();
        return 0;
    }
}
