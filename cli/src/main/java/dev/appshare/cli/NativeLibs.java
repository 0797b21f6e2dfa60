package dev.appshare.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Unpacks this platform's netty native libraries (epoll, QUIC's quiche with BoringSSL) from the jar
 * into a directory once per build, for scripts/appshare to put on {@code java.library.path}. netty
 * looks there first; otherwise it inflates each library out of the jar into a temporary file on
 * every start, and quiche's is 7 MB (about 60 ms of CPU, on a path whose whole budget is a second).
 * Run by {@link Training} when the launcher asks for it ({@code -Dappshare.native.dir=DIR}).
 */
final class NativeLibs {
    private static final String PREFIX = "META-INF/native/";

    private NativeLibs() {}

    /**
     * Writes the jar's Linux libraries for this machine's architecture into {@code dir} (made empty
     * first); returns how many. Nothing on other systems.
     */
    static int unpack(Path jar, Path dir) throws IOException {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return 0;
        String arch = nettyArch(System.getProperty("os.arch", ""));
        Files.createDirectories(dir);
        try (var old = Files.list(dir)) {
            for (Path p : (Iterable<Path>) old::iterator) Files.deleteIfExists(p);
        }
        int n = 0;
        try (JarFile jf = new JarFile(jar.toFile())) {
            for (JarEntry e : (Iterable<JarEntry>) jf.stream()::iterator) {
                String name = e.getName();
                if (!name.startsWith(PREFIX) || !name.endsWith("_" + arch + ".so")) continue;
                String file = name.substring(PREFIX.length());
                if (file.contains("/")) continue;
                Path tmp = dir.resolve(file + ".tmp");
                try (InputStream in = jf.getInputStream(e)) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Files.move(tmp, dir.resolve(file), StandardCopyOption.ATOMIC_MOVE);
                n++;
            }
        }
        return n;
    }

    /** netty's name for an architecture in its library names. */
    static String nettyArch(String osArch) {
        return switch (osArch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch_64";
            default -> osArch;
        };
    }
}
