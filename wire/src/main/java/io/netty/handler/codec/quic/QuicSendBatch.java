package io.netty.handler.codec.quic;

import io.netty.channel.Channel;

/**
 * Gathers a QUIC connection's sends for one turn of its event loop into one go: what the streams
 * write while the loop handles its ready sockets leaves as a few full packets and one GSO send once
 * the loop runs its tasks, instead of one packet (and one system call, and one ACK back) per stream
 * write.
 *
 * <p>Why it lives in netty's package: netty's QUIC codec already batches this way while it reads
 * UDP (a connection marked "in the read-complete queue" holds its sends until {@code
 * recvComplete}), but a stream written from another channel's read (the local TCP socket of a
 * splice) sends at once on every write; the mark and {@code recvComplete} are package-private. We
 * set the same mark and run the same completion from a task: if the codec reads UDP for the
 * connection in the meantime, it sees the mark and leaves the completion to our task, which is
 * exactly its own path. Pinned to netty 4.2.18's {@code QuicheQuicChannel}; {@code
 * QuicSendBatchTest} fails if that changes. {@code -Dappshare.quic.batch=false} turns it off (every
 * write sends at once, netty's default).
 */
public final class QuicSendBatch {
    private static final boolean ON = !"false".equals(System.getProperty("appshare.quic.batch"));

    private QuicSendBatch() {}

    /**
     * Holds {@code connection}'s sends until the tasks of the current event-loop turn; the first
     * call in a turn schedules the send. Before writing to one of its streams. A channel that is
     * not netty's QUIC connection, or a call from another thread, is left alone.
     */
    public static void hold(Channel connection) {
        if (!ON
                || !(connection instanceof QuicheQuicChannel quic)
                || !quic.eventLoop().inEventLoop()) return;
        if (quic.markInFireChannelReadCompleteQueue()) {
            quic.eventLoop().execute(quic::recvComplete);
        }
    }

    /** Whether holding is on (for tests and the bench's labels). */
    public static boolean enabled() {
        return ON;
    }
}
