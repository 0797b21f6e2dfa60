package dev.appshare.wire.tunnel;

import io.netty.buffer.ByteBuf;
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
final class PeerControlStream {
    private PeerControlStream() {}

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
