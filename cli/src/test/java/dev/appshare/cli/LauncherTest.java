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
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/appshare's class-data archive, run as a real process on a stand-in checkout (the script
 * and a jar whose main class is {@link LauncherHello}): whatever state the archive is in, the
 * command runs and nothing but its own output reaches the terminal.
 */
class LauncherTest {
    private record Result(int exit, String out, String err) {}

    @TempDir Path root;

    private Path jar() {
        return root.resolve("cli/target/appshare.jar");
    }

    private Path jsa() {
        return root.resolve("cli/target/appshare.jsa");
    }

    private void checkout() throws IOException {
        checkout(false);
    }

    /** The script and the stand-in jar (with {@code extra}, one more entry: another build). */
    private void checkout(boolean extra) throws IOException {
        Path script = root.resolve("scripts/appshare");
        Files.createDirectories(script.getParent());
        Files.copy(Path.of("../scripts/appshare"), script, StandardCopyOption.REPLACE_EXISTING);
        script.toFile().setExecutable(true);
        Files.createDirectories(jar().getParent());
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, LauncherHello.class.getName());
        String entry = LauncherHello.class.getName().replace('.', '/') + ".class";
        try (OutputStream f = Files.newOutputStream(jar());
                JarOutputStream j = new JarOutputStream(f, m)) {
            j.putNextEntry(new JarEntry(entry));
            try (var in = LauncherHello.class.getClassLoader().getResourceAsStream(entry)) {
                in.transferTo(j);
            }
            if (extra) {
                j.putNextEntry(new JarEntry("another-build.txt"));
                j.write("1\n".getBytes(StandardCharsets.US_ASCII));
            }
        }
    }

    private Result run(String... env) throws Exception {
        return run(List.of(), env);
    }

    /** scripts/appshare hi, started through {@code prefix} (e.g. to run as another user). */
    private Result run(List<String> prefix, String... env) throws Exception {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of("bash", root.resolve("scripts/appshare").toString(), "hi"));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().remove("APPSHARE_CDS");
        pb.environment().remove("APPSHARE_JAVA_OPTS");
        pb.environment().remove("APPSHARE_JAVA_EXTRA_OPTS");
        for (int i = 0; i < env.length; i += 2) pb.environment().put(env[i], env[i + 1]);
        Path out = root.resolve("out.txt"), err = root.resolve("err.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("scripts/appshare did not exit within 120 s");
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void anArchiveOfAnotherBuildIsIgnoredWithoutAWord() throws Exception {
        checkout();
        // a real archive of this jar, made as the launcher makes one, then the jar is rebuilt: the
        // JVM refuses the archive (and says so on stdout unless told not to), but the launcher
        // takes it for a fresh one
        Path classes = root.resolve("classes.txt");
        java("-XX:DumpLoadedClassList=" + classes, "-jar", jar().toString());
        java(
                "-Xshare:dump",
                "-XX:SharedClassListFile=" + classes,
                "-XX:SharedArchiveFile=" + jsa(),
                "-cp",
                jar().toString());
        assertTrue(Files.size(jsa()) > 0);
        checkout(true);
        Files.writeString(
                root.resolve("cli/target/appshare.jsa.id"),
                javaOnPath() + " " + jar() + "\n"); // the launcher's id: java as found on PATH
        Files.setLastModifiedTime(
                jsa(), FileTime.fromMillis(Files.getLastModifiedTime(jar()).toMillis() + 5_000));
        Result r = run();
        assertEquals(new Result(0, "hello hi\n", ""), r);
    }

    @Test
    void aFailedTrainingStillRunsTheCommandAndIsNotRetried() throws Exception {
        checkout(); // the stand-in jar has no Training class: the training run fails
        Result first = run();
        assertEquals(0, first.exit());
        assertEquals("hello hi\n", first.out());
        assertTrue(first.err().contains("training run failed"), first.err());
        assertFalse(Files.exists(jsa()));
        Result second = run();
        assertEquals(new Result(0, "hello hi\n", ""), second);
    }

    @Test
    void onlyOptionsWithoutCompressedPointersTrainAgain() throws Exception {
        checkout(); // no Training class: each training fails, and says so once
        assertTrue(run().err().contains("training run failed"));
        // another GC, heap size or property maps the same archive: nothing to train again (the
        // systemd unit adds -Xmx256m to an install trained with the defaults)
        Result same =
                run(
                        "APPSHARE_JAVA_OPTS",
                        "-Xss512k -XX:+UseParallelGC -XX:-UsePerfData -Xmx256m -Dsome.property=1");
        assertEquals(new Result(0, "hello hi\n", ""), same);
        // without compressed pointers the JVM refuses an archive dumped with them: train again
        Result noCoops =
                run("APPSHARE_JAVA_OPTS", "-Xss512k -XX:+UseSerialGC -XX:-UseCompressedOops");
        assertEquals(0, noCoops.exit());
        assertEquals("hello hi\n", noCoops.out());
        assertTrue(noCoops.err().contains("training run failed"), noCoops.err());
    }

    @Test
    void anInstallItCannotWriteToRunsWithoutAWord() throws Exception {
        // as the systemd unit's user starts an install root owns, with no archive for its java
        // yet: nothing is trained, no lock file opened, nothing said
        checkout();
        Path dir = jar().getParent();
        List<String> as = List.of();
        if ("root".equals(System.getProperty("user.name"))) {
            // root writes anywhere: run the launcher as nobody, who can only read the install
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
            as = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");
        } else {
            assertTrue(dir.toFile().setWritable(false, false));
        }
        try {
            assertEquals(new Result(0, "hello hi\n", ""), run(as));
            assertFalse(Files.exists(dir.resolve("appshare.jsa.lock")));
        } finally {
            dir.toFile().setWritable(true, false);
        }
    }

    @Test
    void extraOptionsComeAfterTheDefaultsOrTheReplacedOnes() throws Exception {
        checkout();
        assertEquals(
                new Result(0, "hello hi\nextra yes\n", ""),
                run("APPSHARE_CDS", "0", "APPSHARE_JAVA_EXTRA_OPTS", "-Dlauncher.extra=yes"));
        assertEquals(
                new Result(0, "hello hi\nextra *\n", ""),
                run(
                        "APPSHARE_CDS",
                        "0",
                        "APPSHARE_JAVA_OPTS",
                        "-Xss512k -Dlauncher.extra=no",
                        "APPSHARE_JAVA_EXTRA_OPTS",
                        "-Dlauncher.extra=*"),
                "the later option wins, and a * stays a *");
        assertEquals(
                new Result(0, "hello hi\n", ""),
                run("APPSHARE_CDS", "0", "APPSHARE_JAVA_EXTRA_OPTS", ""));
    }

    @Test
    void withoutTheArchiveNothingIsTrained() throws Exception {
        checkout();
        assertEquals(new Result(0, "hello hi\n", ""), run("APPSHARE_CDS", "0"));
        assertFalse(Files.exists(root.resolve("cli/target/appshare.jsa.log")));
    }

    private void java(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(javaOnPath()));
        command.addAll(List.of(args));
        Process p =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(root.resolve("java.txt").toFile())
                        .start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, String.join(" ", args));
    }

    private static String javaOnPath() {
        for (String dir : System.getenv("PATH").split(":")) {
            Path java = Path.of(dir, "java");
            if (Files.isExecutable(java)) return java.toString();
        }
        throw new AssertionError("no java on PATH");
    }
}
