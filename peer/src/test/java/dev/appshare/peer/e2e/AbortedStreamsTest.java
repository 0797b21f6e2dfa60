package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.management.ObjectName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Connections through a tunnel that end with a reset (a browser that gives up, a client killed)
 * leave nothing behind in either peer: netty (4.2.18) kept every QUIC stream closed without the
 * other side's FIN for as long as the tunnel lived ({@code QuicStreamRelease}), about 660 bytes
 * each in connect and in share, so a long-lived tunnel (or a public share's gateway) grew without
 * bound. Counted as live {@code QuicheQuicStreamChannel} objects in this JVM (connect and share run
 * in it), from the class histogram after a full GC.
 */
public class AbortedStreamsTest {
    static final int CONNECTIONS = 300;

    @ParameterizedTest(name = "ended by the {0}")
    @EnumSource(End.class)
    void connectionsThatEndWithAResetLeaveNoStreamBehind(End end) throws Exception {
        AtomicInteger served = new AtomicInteger();
        try (TestServers.Tcp app =
                        new TestServers.Tcp(
                                s -> {
                                    int what = s.getInputStream().read();
                                    s.getOutputStream().write(what); // echo the first byte
                                    if (what == 'k') return; // a round trip, closed with a FIN
                                    served.incrementAndGet();
                                    if (what == 'd') { // a download the client leaves midway
                                        byte[] chunk = new byte[64 << 10];
                                        for (int i = 0; i < 64; i++)
                                            s.getOutputStream().write(chunk);
                                        return;
                                    }
                                    if (what == 'r') {
                                        s.setSoLinger(true, 0); // the application resets
                                        return;
                                    }
                                    s.getInputStream().read(); // until the client ends
                                });
                Lab lab = Lab.with(Transport.RELAY)) {
            Connector c = lab.connect(lab.share(app.port()).name());
            oneRoundTrip(c); // the tunnel and its long-lived streams are up
            long before = liveStreams();
            for (int i = 0; i < CONNECTIONS; i++) {
                try (Socket s = new Socket()) {
                    s.setSoTimeout(10_000);
                    s.connect(c.localAddress());
                    if (end == End.CLIENT) {
                        s.getOutputStream().write('c');
                        assertEquals('c', s.getInputStream().read());
                        s.setSoLinger(true, 0); // closed with a reset
                    } else if (end == End.CLIENT_MID_DOWNLOAD) {
                        // the share's writes are queued when the reset comes: its stream gets
                        // STOP_SENDING, and the failed writes close it
                        s.getOutputStream().write('d');
                        s.getInputStream().readNBytes(64 << 10);
                        s.setSoLinger(true, 0);
                    } else {
                        s.getOutputStream().write('r');
                        // the echo, or the reset first (a reset discards what it overtakes)
                        while (s.getInputStream().read() >= 0) {}
                    }
                } catch (IOException resetByTheTunnel) {
                    // the application's reset, passed on
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (served.get() < CONNECTIONS && System.nanoTime() < deadline)
                TimeUnit.MILLISECONDS.sleep(20);
            assertEquals(CONNECTIONS, served.get());
            long after = before;
            for (int i = 0; i < 50; i++) { // until the last aborts went round
                TimeUnit.MILLISECONDS.sleep(100);
                after = liveStreams();
                if (after - before < CONNECTIONS / 10) break;
            }
            assertTrue(
                    after - before < CONNECTIONS / 10,
                    "stream channels before " + before + ", after " + after);
            oneRoundTrip(c); // and the tunnel still carries new connections
        }
    }

    enum End {
        CLIENT,
        CLIENT_MID_DOWNLOAD,
        APPLICATION
    }

    private static void oneRoundTrip(Connector c) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(c.localAddress());
            s.getOutputStream().write('k');
            assertEquals('k', s.getInputStream().read());
        }
    }

    /** Live QuicheQuicStreamChannel objects in this JVM (the histogram runs a full GC first). */
    public static long liveStreams() throws Exception {
        String histogram =
                (String)
                        ManagementFactory.getPlatformMBeanServer()
                                .invoke(
                                        new ObjectName("com.sun.management:type=DiagnosticCommand"),
                                        "gcClassHistogram",
                                        new Object[] {new String[0]},
                                        new String[] {String[].class.getName()});
        for (String line : histogram.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[3].equals("io.netty.handler.codec.quic.QuicheQuicStreamChannel"))
                return Long.parseLong(f[1]);
        }
        return 0;
    }
}
