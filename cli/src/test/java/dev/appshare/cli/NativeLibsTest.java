package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link NativeLibs} on a stand-in jar: this machine's Linux libraries only, byte for byte. */
class NativeLibsTest {
    @TempDir Path dir;

    @Test
    void unpacksThisArchitecturesLinuxLibrariesAndNothingElse() throws Exception {
        assumeTrue(
                System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux"),
                "the launcher unpacks on Linux only");
        String arch = NativeLibs.nettyArch(System.getProperty("os.arch"));
        String other = arch.equals("x86_64") ? "aarch_64" : "x86_64";
        Path jar = dir.resolve("a.jar");
        try (OutputStream f = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(f)) {
            for (String name :
                    List.of(
                            "META-INF/native/libnetty_quiche42_linux_" + arch + ".so",
                            "META-INF/native/libnetty_transport_native_epoll_" + arch + ".so",
                            "META-INF/native/libnetty_quiche42_linux_" + other + ".so",
                            "META-INF/native/libnetty_quiche42_osx_" + arch + ".jnilib",
                            "META-INF/native/sub/libx_" + arch + ".so",
                            "io/netty/Some.class")) {
                j.putNextEntry(new JarEntry(name));
                j.write(name.getBytes(StandardCharsets.US_ASCII));
            }
        }
        Path out = dir.resolve("native");
        Files.createDirectories(out);
        Files.writeString(out.resolve("libstale_" + arch + ".so"), "an older build's");

        assertEquals(2, NativeLibs.unpack(jar, out));
        try (Stream<Path> files = Files.list(out)) {
            assertArrayEquals(
                    new String[] {
                        "libnetty_quiche42_linux_" + arch + ".so",
                        "libnetty_transport_native_epoll_" + arch + ".so"
                    },
                    files.map(p -> p.getFileName().toString()).sorted().toArray());
        }
        assertEquals(
                "META-INF/native/libnetty_quiche42_linux_" + arch + ".so",
                Files.readString(out.resolve("libnetty_quiche42_linux_" + arch + ".so")));
    }

    @Test
    void namesArchitecturesAsNettyDoes() {
        assertEquals("x86_64", NativeLibs.nettyArch("amd64"));
        assertEquals("aarch_64", NativeLibs.nettyArch("aarch64"));
    }
}
