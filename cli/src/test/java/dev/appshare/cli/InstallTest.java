package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/install as a real process, on a stand-in checkout (the scripts, the systemd unit and a
 * jar whose main class is {@link LauncherHello}): the installed command runs from anywhere once the
 * checkout is gone, the unit names the install's own path and keeps its hardening, and installing
 * again replaces the old copy.
 */
class InstallTest {
    @TempDir Path tmp;

    private Path checkout() throws IOException {
        Path root = tmp.resolve("checkout");
        for (String f :
                List.of("scripts/appshare", "scripts/install", "dist/systemd/appshare.service")) {
            Path to = root.resolve(f);
            Files.createDirectories(to.getParent());
            Files.copy(Path.of("..", f), to, StandardCopyOption.REPLACE_EXISTING);
            to.toFile().setExecutable(true);
        }
        return root;
    }

    private static void standInJar(Path root, String extra) throws IOException {
        Path jar = root.resolve("cli/target/appshare.jar");
        Files.createDirectories(jar.getParent());
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, LauncherHello.class.getName());
        String entry = LauncherHello.class.getName().replace('.', '/') + ".class";
        try (OutputStream f = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(f, m)) {
            j.putNextEntry(new JarEntry(entry));
            try (var in = LauncherHello.class.getClassLoader().getResourceAsStream(entry)) {
                in.transferTo(j);
            }
            j.putNextEntry(new JarEntry("build.txt"));
            j.write(extra.getBytes(StandardCharsets.US_ASCII));
        }
    }

    private String run(Path dir, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        pb.environment().put("APPSHARE_INSTALL_NO_BUILD", "1");
        pb.environment().put("APPSHARE_CDS", "0"); // the stand-in jar has no training run
        pb.environment().remove("APPSHARE_JAVA_OPTS");
        pb.environment().remove("APPSHARE_JAVA_EXTRA_OPTS");
        Path out = tmp.resolve("out.txt");
        Process p = pb.redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not exit within 120 s");
        }
        String text = Files.readString(out);
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + text);
        return text;
    }

    @Test
    void theInstallRunsWithoutItsCheckoutAndAnUpgradeReplacesIt() throws Exception {
        Path root = checkout();
        standInJar(root, "1");
        Path prefix = tmp.resolve("prefix");
        String said = run(root, "bash", "scripts/install", prefix.toString());
        assertTrue(said.contains("installed: " + prefix.resolve("bin/appshare")), said);

        Path unit = prefix.resolve("lib/appshare/appshare.service");
        String text = Files.readString(unit);
        assertTrue(text.contains("ExecStart=" + prefix + "/bin/appshare server"), text);
        assertFalse(text.contains("@PREFIX@"), "every placeholder filled in");
        for (String hardening :
                List.of("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict"))
            assertTrue(text.contains("\n" + hardening + "\n"), hardening);

        standInJar(root, "2"); // a new build, installed over the old one
        run(root, "bash", "scripts/install", prefix.toString());
        try (Stream<Path> files = Files.walk(root)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        assertFalse(Files.exists(root), "the checkout is gone");
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        assertEquals(
                "hello hi\n",
                run(elsewhere, prefix.resolve("bin/appshare").toString(), "hi"),
                "the installed command runs on its own");
        try (var jar =
                new java.util.jar.JarFile(prefix.resolve("lib/appshare/appshare.jar").toFile())) {
            assertEquals(
                    "2",
                    new String(
                            jar.getInputStream(jar.getEntry("build.txt")).readAllBytes(),
                            StandardCharsets.US_ASCII),
                    "the second install replaced the jar");
        }
        try (Stream<Path> left = Files.list(prefix.resolve("lib"))) {
            assertEquals(
                    List.of("appshare"),
                    left.map(p -> p.getFileName().toString()).toList(),
                    "no temporary or old copy left beside it");
        }
    }
}
