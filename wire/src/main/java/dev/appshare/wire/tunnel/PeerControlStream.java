package dev.appshare.wire.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.AttributeKey;
import java.util.function.Consumer;

/**
 * Takes over a long-lived control stream the other peer opened (its signal stream, its end
 * records): one of each kind at a time per QUIC connection, read as it comes. A second one while
 * the first is open is closed: a peer that opened several would make this side hold and read each.
 */
public final class PeerControlStream {
    private PeerControlStream() {}

    /**
     * Whether a preamble of this kind opens one of the other peer's long-lived control streams:
     * {@link StreamPreamble#PATH_SIGNALS} or {@link StreamPreamble#STREAM_ENDS}.
     */
    public static boolean opens(byte kind) {
        return kind == StreamPreamble.PATH_SIGNALS || kind == StreamPreamble.STREAM_ENDS;
    }

    /**
     * Hands {@code ch}, whose preamble said {@code kind} (one that {@link #opens}), to its reader
     * ({@link PathSignals#adopt}, {@link StreamEnds#adopt}); {@code rest} is what followed the
     * preamble, owned here from now on. A channel that is not a QUIC stream (a test's) is closed.
     * The caller's handlers must be off the pipeline already.
     */
    public static void take(Channel ch, byte kind, ByteBuf rest) {
        if (!(ch instanceof QuicStreamChannel stream)) {
            rest.release();
            ch.close();
        } else if (kind == StreamPreamble.PATH_SIGNALS) {
            PathSignals.adopt(stream, rest);
        } else {
            StreamEnds.adopt(stream, rest);
        }
    }

    /**
     * Adopts {@code stream}, whose preamble was read ({@code rest}: what followed it, owned here
     * from now on), unless one marked by {@code kind} is open on its connection: {@code install}
     * adds the reader's handlers, then reading starts with {@code rest}. Returns false (the stream
     * closed) for a second one. The caller's handlers must be off the pipeline already.
     */
    static boolean adopt(
            QuicStreamChannel stream,
            ByteBuf rest,
            AttributeKey<Boolean> kind,
            Consumer<ChannelPipeline> install) {
        QuicChannel quic = stream.parent();
        if (quic.attr(kind).setIfAbsent(Boolean.TRUE) != null) {
            rest.release();
            stream.close();
            return false;
        }
        stream.closeFuture().addListener(f -> quic.attr(kind).set(null));
        install.accept(stream.pipeline());
        stream.config().setAutoRead(true);
        if (rest.isReadable()) stream.pipeline().fireChannelRead(rest);
        else rest.release();
        stream.read();
        return true;
    }
}
