package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code appshare completion bash}: a script bash parses, sources, and completes with. */
class CompletionTest {
    @Test
    void bashSourcesTheScriptAndCompletesCommandsAndOptions(@TempDir Path dir) throws Exception {
        Path script = dir.resolve("appshare.bash");
        Process gen =
                new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                Main.class.getName(),
                                "completion",
                                "bash")
                        .redirectOutput(script.toFile())
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        assertTrue(gen.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, gen.exitValue());
        assertEquals("", bash("bash -n " + script + " 2>&1"), "bash -n: no syntax error");
        String out =
                bash(
                        "source "
                                + script
                                + "; complete -p appshare; complete_words() { COMP_WORDS=(\"$@\");"
                                + " COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\";"
                                + " COMP_POINT=${#COMP_LINE}; COMPREPLY=(); $(complete -p appshare"
                                + " | sed -E 's/.* -F ([^ ]+) .*/\\1/') appshare; echo"
                                + " \"${COMPREPLY[*]}\"; }; complete_words appshare con;"
                                + " complete_words appshare connect --std");
        List<String> lines = out.lines().toList();
        assertEquals(3, lines.size(), out);
        assertTrue(lines.get(0).startsWith("complete ") && lines.get(0).endsWith(" appshare"), out);
        assertEquals("connect", lines.get(1).trim(), out);
        assertEquals(List.of("--stdio", "--stdio-port"), List.of(lines.get(2).trim().split(" ")));
    }

    @Test
    void anotherShellIsAUsageError() {
        assertEquals(2, Main.run(false, "completion", "fish"));
    }

    private static String bash(String command) throws Exception {
        Process p = new ProcessBuilder("bash", "--norc", "-c", command).start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        return new String(out, StandardCharsets.UTF_8);
    }
}
