package io.netty.handler.codec.quic;

/**
 * Makes netty forget a QUIC stream once its channel is closed, however it closed; netty (4.2.18)
 * would otherwise keep many of them for as long as the connection lives.
 *
 * <p>Why: netty's QUIC connection keeps each stream channel in a map until the channel is closed
 * <em>and</em> has read the other side's FIN. A stream closed after a reset (ours or the other
 * peer's), after a STOP_SENDING failed its writes, or before the other side finished never reads a
 * FIN: its channel and pipeline (about 660 bytes) stayed until the tunnel closed, and quiche kept
 * the stream too (never read, never collected), with one of the peer's stream credits. Every TCP
 * connection through a tunnel that ended with a reset, and every visitor of a public share whose
 * application kept its connection alive, left one in each peer and in the gateway: one client
 * fetching pages over HTTP/2 filled a 256 MiB gateway in about a minute.
 *
 * <p>netty keeps the record so that a stream quiche still reports readable is not taken for a new
 * one. So the stream's input is shut down in quiche first (a no-op for a stream that ended or was
 * already collected): quiche then drains and drops whatever arrives for it, a RESET_STREAM
 * included, and never reports it readable again; only then is the record dropped. Both on a later
 * turn of the connection's loop, never inside netty's own walk over the readable streams (which
 * would meet the id again in the same walk and take it for a new stream). The two methods are
 * package-private, hence this class in netty's package, pinned like {@link QuicSendBatch} to netty
 * 4.2.18's {@code QuicheQuicChannel} ({@code AbortedStreamsTest} fails if that changes).
 */
public final class QuicStreamRelease {
    private QuicStreamRelease() {}

    /**
     * Once {@code stream} closes, shuts its input down in quiche with {@code error} (STOP_SENDING,
     * if the other side was still sending) and drops netty's record of it. For every stream whose
     * channel this side closes; a stream of a connection that is not netty's QUIC codec is left
     * alone.
     */
    public static void whenClosed(QuicStreamChannel stream, int error) {
        if (!(stream.parent() instanceof QuicheQuicChannel quic)) return;
        long id = stream.streamId();
        stream.closeFuture()
                .addListener(
                        f ->
                                quic.eventLoop()
                                        .execute(
                                                () -> {
                                                    quic.streamShutdown(
                                                            id,
                                                            true,
                                                            false,
                                                            error,
                                                            quic.newPromise());
                                                    quic.streamClosed(id);
                                                }));
    }
}
