package dev.appshare.peer.path;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A tunnel's handshake deadline that does not end a tunnel whose ICE is still working: when it
 * falls due while ICE runs ({@link PathCarrier#iceRunning()}), it waits for ICE's outcome ({@link
 * PathCarrier#directSettled()}; ICE gives up on its own) and then allows the handshake its full
 * time again, as the direct path may just have come up. Without this, a relay that never pairs
 * would end every attempt before ICE could finish, and the connector would ask again forever. Runs
 * on the carrier's event loop.
 */
public final class HandshakeDeadline {
    private final EventLoop loop;
    private final BooleanSupplier iceRunning;
    private final Future<?> iceSettled;
    private final long millis;
    private final Runnable expired;
    private ScheduledFuture<?> timer;
    private boolean extended;
    private boolean cancelled;

    private HandshakeDeadline(
            EventLoop loop,
            BooleanSupplier iceRunning,
            Future<?> iceSettled,
            long millis,
            Runnable expired) {
        this.loop = loop;
        this.iceRunning = iceRunning;
        this.iceSettled = iceSettled;
        this.millis = millis;
        this.expired = expired;
    }

    /**
     * Runs {@code expired} on {@code loop} after {@code millis}, unless cancelled first. Any
     * thread.
     */
    public static HandshakeDeadline start(
            EventLoop loop, PathCarrier carrier, long millis, Runnable expired) {
        return start(loop, carrier::iceRunning, carrier.directSettled(), millis, expired);
    }

    static HandshakeDeadline start(
            EventLoop loop,
            BooleanSupplier iceRunning,
            Future<?> iceSettled,
            long millis,
            Runnable expired) {
        HandshakeDeadline d = new HandshakeDeadline(loop, iceRunning, iceSettled, millis, expired);
        d.arm(); // keeps every field on the loop, in order with cancel()
        return d;
    }

    private void arm() {
        if (!loop.inEventLoop()) {
            loop.execute(this::arm);
            return;
        }
        if (!cancelled) timer = loop.schedule(this::due, millis, TimeUnit.MILLISECONDS);
    }

    private void due() {
        if (cancelled) return;
        if (!extended && iceRunning.getAsBoolean()) {
            extended = true; // once: after ICE's outcome nothing else can bring a path
            iceSettled.addListener(f -> arm());
            return;
        }
        expired.run();
    }

    /** Any thread. */
    public void cancel() {
        if (!loop.inEventLoop()) {
            loop.execute(this::cancel);
            return;
        }
        cancelled = true;
        if (timer != null) timer.cancel(false);
    }
}
