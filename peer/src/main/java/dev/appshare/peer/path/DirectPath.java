package dev.appshare.peer.path;

import dev.appshare.wire.net.HostPort;
import java.net.InetSocketAddress;
import java.security.SecureRandom;

/**
 * Whether the direct UDP path (the 5-tuple ICE validated) is answering, judged from our probes'
 * answers. QUIC's own timers are far too slow for this: its retransmission timer backs off, so a
 * dead path would stall the tunnel for many seconds. Only answers count as evidence: datagrams
 * arriving from the peer prove the path inbound only, and a sender whose outbound direction died
 * would otherwise keep trusting it.
 *
 * <pre>
 * PROVING --answer--> ALIVE --silence > doubt--> DOUBT --silence > dead--> DEAD --2 answers in a row--> ALIVE
 *    |                   ^-----------answer-----------'
 *    '--no answer for {@value #PROVING_LIMIT_MILLIS} ms--> UNUSABLE (ICE's pair carries no full-size datagram)
 * </pre>
 *
 * Silence is measured from the oldest probe still unanswered. While traffic flows a probe goes out
 * every {@value #ACTIVE_PROBE_MILLIS} ms, so a dead path is noticed within about a second; idle,
 * every {@value #IDLE_PROBE_MILLIS} ms, which also keeps the NAT mapping open. In DOUBT the path
 * layer sends on both paths (QUIC drops the duplicates). In DEAD probes back off from 500 ms to
 * {@value #DEAD_PROBE_MAX_MILLIS} ms, and two answers in a row are needed to come back, so a flaky
 * path does not flap. Runs on the tunnel's event loop; it reads no clock of its own: every call
 * passes the loop's time in nanoseconds, so tests drive it with a clock of theirs.
 */
public final class DirectPath {
    enum State {
        PROVING,
        ALIVE,
        DOUBT,
        DEAD,
        UNUSABLE
    }

    public static final long ACTIVE_PROBE_MILLIS = 100;
    public static final long IDLE_PROBE_MILLIS = 2_000;
    public static final long UNANSWERED_PROBE_MILLIS = 100;
    public static final long DOUBT_AFTER_MILLIS = 150;
    public static final long DEAD_AFTER_MILLIS = 1_000;
    public static final long DEAD_PROBE_MAX_MILLIS = 2_000;
    public static final long PROVING_LIMIT_MILLIS = 10_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final String kinds;
    private final long[] nonces = new long[16];
    private final long[] sentAt = new long[16];
    // Which of the 16 probes still waits for its answer. Flags, not a 0 in sentAt: a clock may
    // read 0 (a loop's ticker counts from its own start).
    private final boolean[] outstanding = new boolean[16];
    private int next;
    private State state = State.PROVING;
    private final long created;
    private long deadInterval;
    private int answersWhileDead;
    private boolean unanswered; // a probe is outstanding, the oldest sent at firstUnanswered
    private long firstUnanswered;
    private boolean probeNow = true; // the next tick probes whenever lastProbe was
    private long lastProbe;
    private double srttMillis = -1;

    /** {@code now}: the loop's clock in nanoseconds; the proving limit counts from here. */
    DirectPath(InetSocketAddress local, InetSocketAddress remote, String kinds, long now) {
        this.local = local;
        this.remote = remote;
        this.kinds = kinds;
        this.created = now;
    }

    InetSocketAddress remote() {
        return remote;
    }

    State state() {
        return state;
    }

    /** True while datagrams should go this way (alone when ALIVE, beside the relay in DOUBT). */
    boolean carries() {
        return state == State.ALIVE || state == State.DOUBT;
    }

    long rttMillis() {
        return Math.round(Math.max(0, srttMillis));
    }

    String describe() {
        return "direct (udp "
                + HostPort.literal(local)
                + " <-> "
                + HostPort.literal(remote)
                + ", rtt "
                + rttMillis()
                + " ms)";
    }

    String kinds() {
        return kinds;
    }

    /** An answer to one of our probes: the path works both ways. Returns a new state, or null. */
    State answered(long nonce, long now) {
        for (int i = 0; i < nonces.length; i++) {
            if (nonces[i] == nonce && outstanding[i]) {
                double rtt = (now - sentAt[i]) / 1e6;
                srttMillis = srttMillis < 0 ? rtt : 0.875 * srttMillis + 0.125 * rtt;
                outstanding[i] = false;
                unanswered = false;
                if (state == State.DEAD && ++answersWhileDead < 2) {
                    probeNow = true; // ask again at once: one answer may be a fluke
                    return null;
                }
                if (state != State.ALIVE) return state = State.ALIVE;
                return null;
            }
        }
        return null; // stale or forged
    }

    /**
     * Called every tick: decides whether to probe (returns the nonce, or 0 for none) and moves to
     * DOUBT or DEAD on silence; {@code active} is whether the tunnel sent anything lately.
     */
    long tick(long now, boolean active) {
        if (state == State.UNUSABLE) return 0;
        if (state == State.PROVING && (now - created) / 1_000_000 > PROVING_LIMIT_MILLIS) {
            state = State.UNUSABLE;
            return 0;
        }
        if (unanswered) {
            long silent = (now - firstUnanswered) / 1_000_000;
            long rtt = rttMillis();
            if (state == State.ALIVE && silent > Math.max(DOUBT_AFTER_MILLIS, 4 * rtt))
                state = State.DOUBT;
            if (state == State.DOUBT && silent > Math.max(DEAD_AFTER_MILLIS, 8 * rtt)) {
                state = State.DEAD;
                deadInterval = 500;
                answersWhileDead = 0;
            }
        }
        long interval =
                switch (state) {
                    case ALIVE -> active ? ACTIVE_PROBE_MILLIS : IDLE_PROBE_MILLIS;
                    case PROVING, DOUBT -> UNANSWERED_PROBE_MILLIS;
                    case DEAD -> deadInterval;
                    case UNUSABLE -> Long.MAX_VALUE;
                };
        if (!probeNow && (now - lastProbe) / 1_000_000 < interval) return 0;
        probeNow = false;
        lastProbe = now;
        if (state == State.DEAD) deadInterval = Math.min(DEAD_PROBE_MAX_MILLIS, deadInterval * 2);
        // Dead, the last probe unanswered: an answer before it no longer counts towards the two
        // in a row that revive the path (a path that loses most probes would flap).
        if (state == State.DEAD && unanswered) answersWhileDead = 0;
        if (!unanswered) {
            unanswered = true;
            firstUnanswered = now;
        }
        long nonce = RANDOM.nextLong() | 1; // never 0
        nonces[next] = nonce;
        sentAt[next] = now;
        outstanding[next] = true;
        next = (next + 1) % nonces.length;
        return nonce;
    }
}
