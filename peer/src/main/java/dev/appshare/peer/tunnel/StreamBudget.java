package dev.appshare.peer.tunnel;

import dev.appshare.wire.net.ConnectionBudget;
import dev.appshare.wire.net.DescriptorLimit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The streams a share holds at once, from their first byte until they close, in all its sessions
 * ({@code total}) and in one ({@code perSession}). Each may become a TCP connection to a shared
 * port, a descriptor, and each holds memory until it closes.
 *
 * <p>Why: a connector that has the code may open {@link TunnelCodecs#MAX_STREAMS} streams in its
 * tunnel. Without a bound, 9,000 of them to a service that holds its connections took all 8,000
 * descriptors of a share in 5 s: the other connectors' dials failed, and so did the UDP socket and
 * relay connection of a new session. The total takes three quarters of the descriptors past {@link
 * #RESERVED_DESCRIPTORS}, at most {@link #MAX_TOTAL}; one session (one {@code connect}) may hold
 * half of it, so that one cannot take them all (two can). A stream over either is reset with {@link
 * dev.appshare.wire.tunnel.StreamPreamble#BUSY_ERROR}, unless it is a control stream ({@link
 * #CONTROL_OVER_BUDGET}). Thread-safe.
 */
public final class StreamBudget {
    /** The most streams a share holds, however many descriptors it may open. */
    public static final int MAX_TOTAL = 16_384;

    /**
     * Streams past a session's budget that may still show their preamble (within the preamble's
     * deadline), per session: a control stream (an abort notice, the signal stream) goes on
     * uncounted; any other is reset. A lost abort notice would leave the stream it names open, and
     * a refused signal stream would end the tunnel's ICE restarts.
     */
    public static final int CONTROL_OVER_BUDGET = 64;

    /**
     * Descriptors the budget leaves to the rest of the share: its sessions' UDP sockets and relay
     * connections (a few for each of up to 64), the control connection, the JVM's own files. Not
     * the birthday search's up to 512 sockets: a share whose limit is low (under about 5,600) and
     * whose budget is full runs none (it needs 1,280 descriptors spare), and a hard-NAT session
     * then stays on the relay.
     */
    public static final int RESERVED_DESCRIPTORS = 512;

    private final int total;
    private final int perSession;
    private final AtomicInteger open = new AtomicInteger();

    public StreamBudget(int total, int perSession) {
        this.total = total;
        this.perSession = perSession;
    }

    /** Sized from this process's descriptor limit (see the class comment). */
    public static StreamBudget fromDescriptors() {
        long limit = DescriptorLimit.soft().orElse(ConnectionBudget.ASSUMED_DESCRIPTOR_LIMIT);
        int total = (int) Math.min(MAX_TOTAL, Math.max(64, (limit - RESERVED_DESCRIPTORS) * 3 / 4));
        return new StreamBudget(total, total / 2);
    }

    public int total() {
        return total;
    }

    public int perSession() {
        return perSession;
    }

    /** Streams held now, in all sessions. */
    public int open() {
        return open.get();
    }

    /** One session's part of the budget. */
    public Session session() {
        return new Session();
    }

    public final class Session {
        private final AtomicInteger held = new AtomicInteger();
        private final AtomicInteger control = new AtomicInteger();

        private Session() {}

        /**
         * Admits a stream past the budget that may be a control stream: true if one of {@link
         * #CONTROL_OVER_BUDGET} places was free ({@link #releaseControl} it once).
         */
        public boolean admitControl() {
            if (control.incrementAndGet() > CONTROL_OVER_BUDGET) {
                control.decrementAndGet();
                return false;
            }
            return true;
        }

        public void releaseControl() {
            control.decrementAndGet();
        }

        /** Admits one stream: null if admitted ({@link #release} it once), else why not. */
        public String admit() {
            if (held.incrementAndGet() > perSession) {
                held.decrementAndGet();
                return "this connector holds " + perSession + " connections, its most";
            }
            if (open.incrementAndGet() > total) {
                open.decrementAndGet();
                held.decrementAndGet();
                return "the share holds " + total + " connections, its most";
            }
            return null;
        }

        public void release() {
            held.decrementAndGet();
            open.decrementAndGet();
        }

        /** This session's streams held now. */
        public int held() {
            return held.get();
        }
    }
}
