package dev.appshare.gateway;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.channel.Channel;
import io.netty.handler.codec.quic.QuicStreamChannel;

/**
 * Ends a tunnel stream the gateway will not read again (its visitor left, was refused, or the
 * answer is over or broken). A plain close only sends our FIN: whatever the share sent and the
 * gateway did not read stays in the QUIC connection, counted against its window and never given
 * back, and the share goes on sending until the stream's 6 MiB window is full. Four visitors who
 * left large downloads would fill the tunnel's 24 MiB and stall every visitor of that share, for as
 * long as the tunnel lives. So while the stream's input is open it is shut first: STOP_SENDING
 * tells the share to stop (it resets its connection to the application, whose answer no one reads),
 * and quiche drops what it held for the stream and gives its window back.
 */
final class StreamEnd {
    /** The application error code of the STOP_SENDING: the reader went away. */
    static final int GONE = SpliceHandler.ABORT_ERROR;

    private StreamEnd() {}

    static void close(Channel stream) {
        if (stream instanceof QuicStreamChannel s && s.isActive() && !s.isInputShutdown()) {
            s.shutdownInput(GONE).addListener(f -> s.close());
            return;
        }
        stream.close();
    }
}
