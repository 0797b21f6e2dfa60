package dev.appshare.gateway;

import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.tunnel.StreamEnds;
import io.netty.channel.Channel;
import io.netty.handler.codec.quic.QuicStreamChannel;

/**
 * Ends a tunnel stream the gateway will not read again (its visitor left, was refused or reset, or
 * the answer is over or broke). A plain close only sends our FIN: whatever the share sent and the
 * gateway did not read stays in the QUIC connection, counted against its window and never given
 * back, and the share goes on sending until the stream's 6 MiB window is full. Four visitors who
 * left large downloads filled the tunnel's 24 MiB and stalled every visitor of that share for as
 * long as the tunnel lived. So a stream whose input is still open is aborted as {@code connect}
 * aborts one ({@link SpliceHandler#abort}): RESET_STREAM and STOP_SENDING, and the abort notice if
 * our FIN went already. quiche drops what it held for the stream and gives the window back, and the
 * share resets its connection to the application, whose answer no one reads.
 */
final class StreamEnd {
    private StreamEnd() {}

    static void close(Channel stream) {
        if (stream instanceof QuicStreamChannel s && s.isActive() && !StreamEnds.inputEnded(s)) {
            SpliceHandler.abort(s);
            return;
        }
        stream.close();
    }
}
