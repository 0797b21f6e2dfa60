package io.netty.handler.codec.quic;

/**
 * Drops netty's own record of a QUIC stream this side aborted, which netty (4.2.18) would keep for
 * as long as the connection lives.
 *
 * <p>Why: netty's QUIC connection keeps each stream channel in a map until the channel is closed
 * <em>and</em> has read the other side's FIN; a stream closed after a reset (ours or the other
 * peer's) never reads a FIN, so its channel and pipeline (about 660 bytes) stayed until the tunnel
 * closed. Every TCP connection through a tunnel that ended with a reset, and every visitor of a
 * public share whose application kept its connection alive, left one in each peer and in the
 * gateway: one client fetching pages over HTTP/2 filled a 256 MiB gateway in about a minute. netty
 * keeps the record so that a stream that quiche still reports readable is not taken for a new one;
 * once this side has shut the stream's input down (our abort: {@code shutdown(error)}), quiche
 * never reports it readable again (it drains and drops whatever arrives, a RESET_STREAM included),
 * so the record can go. The method that drops it is package-private, hence this class in netty's
 * package, pinned like {@link QuicSendBatch} to netty 4.2.18's {@code QuicheQuicChannel} ({@code
 * AbortedStreamsTest} fails if that changes).
 */
public final class QuicStreamRelease {
    private QuicStreamRelease() {}

    /**
     * Forgets {@code stream}, which this side shut down both ways and closed. A stream still open,
     * or one of a connection that is not netty's QUIC codec, is left alone.
     */
    public static void aborted(QuicStreamChannel stream) {
        if (stream.isActive() || !(stream.parent() instanceof QuicheQuicChannel quic)) return;
        if (!quic.eventLoop().inEventLoop()) {
            quic.eventLoop().execute(() -> aborted(stream));
            return;
        }
        quic.streamClosed(stream.streamId());
    }
}
