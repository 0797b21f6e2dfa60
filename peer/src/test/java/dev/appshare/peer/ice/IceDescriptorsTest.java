package dev.appshare.peer.ice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * ICE sessions give back every descriptor they took when they end, at once: not whenever a garbage
 * collection happens to find ice4j's orphaned sockets (on a quiet share, old-generation garbage can
 * wait for hours). The sessions run in a child JVM without a garbage collector (Epsilon), so that
 * only an explicit close can free a descriptor.
 */
class IceDescriptorsTest {
    static final int SESSIONS = 100;
    static final int SLACK = 10;

    @Test
    void hundredSessionsLeaveNoDescriptorsBehind() throws Exception {
        File log = File.createTempFile("ice-descriptors", ".txt");
        log.deleteOnExit();
        Process child =
                new ProcessBuilder(
                                Paths.get(System.getProperty("java.home"), "bin", "java")
                                        .toString(),
                                "-XX:+UnlockExperimentalVMOptions",
                                "-XX:+UseEpsilonGC",
                                "-Xmx3g",
                                "-cp",
                                System.getProperty("java.class.path"),
                                Child.class.getName())
                        .redirectErrorStream(true)
                        .redirectOutput(log) // a file: a full pipe would stall the child
                        .start();
        boolean exited = child.waitFor(240, TimeUnit.SECONDS);
        if (!exited) child.destroyForcibly();
        String out = Files.readString(log.toPath(), StandardCharsets.UTF_8);
        assertTrue(exited, "the child did not finish in time: " + out);
        assertEquals(0, child.exitValue(), out);
        String line =
                out.lines()
                        .filter(l -> l.startsWith("descriptors "))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("no count from the child: " + out));
        System.out.println(line);
        String[] f = line.split(" ");
        int before = Integer.parseInt(f[1]);
        int after = Integer.parseInt(f[2]);
        assertTrue(
                after <= before + SLACK,
                "descriptors before and after " + SESSIONS + " ICE sessions: " + line);
    }

    static int openDescriptors() {
        String[] fds = new File("/proc/self/fd").list();
        if (fds == null) throw new AssertionError("no /proc/self/fd: this test needs Linux");
        return fds.length;
    }

    /** Runs the sessions one after another and prints the descriptor counts. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            // ice4j logs through java.util.logging: warnings only, as the command line does.
            LogManager.getLogManager().reset();
            Logger.getLogger("").setLevel(Level.WARNING);
            EventLoopGroup group = EventLoops.newGroup(2);
            try {
                session(group); // class loading, ice4j's static pools, netty's selectors
                int before = openDescriptors();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                int done = 0;
                while (done < SESSIONS && System.nanoTime() < deadline) {
                    session(group);
                    done++;
                }
                if (done < SESSIONS) throw new AssertionError("only " + done + " sessions ran");
                int after = openDescriptors();
                for (int wait = 0; wait < 50 && after > before + SLACK; wait++) {
                    Thread.sleep(100); // the last session's sockets close on their own threads
                    after = openDescriptors();
                }
                System.out.println("descriptors " + before + " " + after);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
            }
            System.exit(0);
        }

        private static void session(EventLoopGroup group) throws Exception {
            try (IcePair pair = new IcePair(group)) {
                pair.negotiate(20_000);
            }
        }
    }
}
