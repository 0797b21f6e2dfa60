package dev.appshare.peer;

import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.TunnelCodecs;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Cold-start work of {@code connect} and {@code share} that needs nothing from the command line,
 * started by the command as soon as its options are parsed, on background threads: this peer's TLS
 * identity ({@link PeerIdentity#prepare}), then QUIC's native library and a first codec ({@link
 * TunnelCodecs#warmUp}), and the PAKE's warm-up ({@link PakeExchange#warmUp}). Each would otherwise
 * run later on the way to the first byte (the identity and the QUIC codec cost hundreds of ms each
 * in a cold JVM); the second core does them while the main thread builds the event loops and binds
 * the ports, and the rendezvous answers. (Started before picocli's parse, it slowed the parse more
 * than it gained on 2 cores.) See docs/benchmarks.md, "Where a cold connect's time goes".
 */
public final class Prestart {
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private Prestart() {}

    /** Starts the work once per process; returns at once. */
    public static void start() {
        if (!STARTED.compareAndSet(false, true)) return;
        // InetAddress's initialiser loads libnet, under the JDK's lock on native libraries; the
        // QUIC library's JNI_OnLoad (on the thread below, holding that lock) needs InetAddress
        // initialised. Were this thread to initialise InetAddress meanwhile, the two would wait
        // for each other forever (seen: 2 of 12 cold connects hung). Initialised here, first.
        InetAddress.getLoopbackAddress();
        Thread t =
                new Thread(
                        () -> {
                            try {
                                PeerIdentity self = PeerIdentity.prepare().join();
                                Timeline.mark("prestart: identity ready");
                                TunnelCodecs.warmUp(self);
                                Timeline.mark("prestart: QUIC warmed up");
                            } catch (RuntimeException | Error e) {
                                // only a warm-up: the real work reports its own failures
                            }
                        },
                        "appshare-prestart");
        t.setDaemon(true);
        t.start();
        PakeExchange.warmUp();
    }
}
