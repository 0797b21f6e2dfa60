package dev.appshare.wire.tunnel;

import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signals of an ICE restart, inside the tunnel ({@link StreamPreamble#PATH_SIGNALS}): once QUIC
 * is up the peers need the rendezvous no more to find a new direct path. The tunnel carries them on
 * whichever path works (the relay while the direct path is dead), they are encrypted and
 * authenticated by QUIC, the server's SIGNAL budget is not spent, and a control connection that
 * drops loses none of them.
 *
 * <pre>
 * 0x05 | frame | frame | ...      frame = u16 length (big-endian) | UTF-8 line, at most 8,192
 *                                 bytes, as on the control connection (RendezvousFrames), each
 *                                 line a SIGNAL with a gen= field: "SIGNAL gen=2 cand=..."
 * </pre>
 *
 * Each peer sends on one stream that it opens the first time it has something to say, and reads the
 * one the other peer opened: a second one from the same peer is closed, as is one that breaks the
 * framing or arrives before this side listens ({@link #deliverTo}). The stream never ends before
 * the tunnel does. Until the stream is open at most {@value #MAX_QUEUED} signals wait; later ones
 * are dropped (ICE copes as with a lost datagram: the restart fails and is tried again). What the
 * reader takes per restart is bounded by the receiver ({@code RemoteSignals}). All of it runs on
 * the QUIC connection's event loop; {@link Sender#send} may be called from any thread.
 */
public final class PathSignals {
    private static final Logger log = LoggerFactory.getLogger(PathSignals.class);
    public static final int MAX_QUEUED = RendezvousProtocol.MAX_SIGNALS_PER_SESSION;

    private static final AttributeKey<Consumer<RendezvousMessage>> SINK =
            AttributeKey.valueOf(PathSignals.class, "sink");
    private static final AttributeKey<Boolean> READING =
            AttributeKey.valueOf(PathSignals.class, "reading");

    private PathSignals() {}

    /** From now on, the SIGNALs the other peer sends on this tunnel go to {@code sink}. */
    public static void deliverTo(QuicChannel quic, Consumer<RendezvousMessage> sink) {
        quic.attr(SINK).set(sink);
    }

    /**
     * Takes over a stream whose preamble said {@link StreamPreamble#PATH_SIGNALS}: {@code rest} is
     * what was read after the preamble (owned here from now on). The caller's handlers must be off
     * the stream's pipeline already.
     */
    public static void adopt(QuicStreamChannel stream, ByteBuf rest) {
        Consumer<RendezvousMessage> sink = stream.parent().attr(SINK).get();
        if (sink == null) {
            rest.release();
            log.debug("closed a signal stream: not listening");
            stream.close();
            return;
        }
        boolean adopted =
                PeerControlStream.adopt(
                        stream,
                        rest,
                        READING,
                        p -> {
                            RendezvousFrames.install(p);
                            p.addLast("path-signals", new Reader(sink));
                        });
        if (!adopted) log.debug("closed a signal stream: a second");
    }

    /** Hands each SIGNAL on; anything the framing refuses closes the stream. */
    private static final class Reader extends ChannelInboundHandlerAdapter {
        private final Consumer<RendezvousMessage> sink;

        Reader(Consumer<RendezvousMessage> sink) {
            this.sink = sink;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof RendezvousMessage m && RendezvousProtocol.SIGNAL.equals(m.type())) {
                sink.accept(m);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("closed the other peer's signal stream: {}", cause.toString());
            ctx.close();
        }
    }

    /** This side's stream of signals, opened on first use. */
    public static final class Sender {
        private final QuicChannel quic;
        private final ArrayDeque<RendezvousMessage> queued = new ArrayDeque<>();
        private QuicStreamChannel stream;
        private boolean opening;
        private boolean failed;

        public Sender(QuicChannel quic) {
            this.quic = quic;
        }

        /**
         * False once the other peer closed this side's stream (or it could not be opened): it does
         * not listen for signals, and none will reach it. On the QUIC connection's event loop.
         */
        public boolean usable() {
            return !failed && (stream == null || stream.isActive());
        }

        /** Sends one SIGNAL; any thread. */
        public void send(RendezvousMessage m) {
            if (!quic.eventLoop().inEventLoop()) {
                quic.eventLoop().execute(() -> send(m));
                return;
            }
            if (failed) return;
            if (stream != null) {
                // A peer that does not read its signals: dropped, as a lost datagram would be
                if (stream.isWritable()) stream.writeAndFlush(m);
                else log.debug("dropped a signal: the other peer does not read them");
                return;
            }
            if (queued.size() >= MAX_QUEUED) {
                log.debug("dropped a signal: {} wait for the signal stream", MAX_QUEUED);
                return;
            }
            queued.add(m);
            if (!opening) open();
        }

        private void open() {
            opening = true;
            boolean waits =
                    StreamCredit.open(
                            quic,
                            new DropInbound(),
                            s -> {
                                s.write(
                                        Unpooled.wrappedBuffer(
                                                new byte[] {StreamPreamble.PATH_SIGNALS}));
                                s.pipeline().addLast(new LengthFieldPrepender(2));
                                s.pipeline().addLast(new RendezvousFrames());
                                stream = s;
                                while (!queued.isEmpty()) s.write(queued.poll());
                                s.flush();
                            },
                            this::fail); // the tunnel closed first, or netty could not open it
            if (!waits) fail(); // too many control streams wait for credit
        }

        private void fail() {
            failed = true;
            opening = false;
            queued.clear();
        }
    }

    /**
     * The other peer never writes on our stream, nor ends it: anything it writes is dropped, and
     * its end (a reset, STOP_SENDING, a FIN) means it closed the stream: so do we ({@link
     * Sender#usable} then says so). Also on the stream of end records ({@link StreamEnds}).
     */
    static final class DropInbound extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) ctx.close();
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("our stream {} ended: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }
}
