package dev.appshare.wire.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.FixedLengthFrameDecoder;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSendBatch;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamFrame;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End records ({@link StreamPreamble#STREAM_ENDS}): each peer tells the other, on a stream of their
 * own, how every tunnelled stream ended on its side, so an end that QUIC loses is not waited for
 * forever.
 *
 * <p>Why: the QUIC library under netty (quiche 0.24.5) forgets a stream once both its directions
 * are done and its data is acknowledged, and from then on it does not send again a FIN or
 * RESET_STREAM of that stream that was lost: a FIN carries no bytes, so data acknowledged up to the
 * final size counts the stream done while the packet with its FIN may still be lost
 * (cloudflare/quiche#2525), and a reset counts the data acknowledged at once (fixed upstream after
 * 0.24.5, #2358). The peer that ends its half second (it has read the other's FIN already), or
 * right after a spurious retransmission was acknowledged, is the one whose end may vanish; the
 * other then waits for it forever, its TCP connection half open: a client that read its whole
 * answer never sees the server close. And quiche may never send a FIN at all: a FIN written alone
 * (no bytes with it, as a splice's is when its TCP connection ends) while an earlier range of the
 * stream waits to be sent again is not queued on its own, and once that range has left, nothing
 * ends at the final size to carry it if the stream's last bytes were acknowledged meanwhile (seen
 * in a qlog of ManyConnectionsTest's moving case: the FIN set at 32,771, the resent range ending at
 * 30,720, no frame with the FIN ever after; the same in quiche's master of late 2026). That stream
 * is still half open, so its close never comes to send a record. Seen about once in 4,000
 * connections on loopback under load (ManyConnectionsTest's moving case) and once in 300 resets
 * (StreamBudgetTest), and on a lossy network far more often. The records ride a stream that never
 * ends, so QUIC resends them until they arrive.
 *
 * <pre>
 * 0x06 | record | record | ...    record = u8 how | u64 stream id | u64 value   (17 bytes)
 *   how 0x00 FIN      value = the stream's final size: every byte the sender wrote on it
 *   how 0x01 RESET    value = the application error code of its RESET_STREAM
 *   any other how     ignored (room for later kinds)
 * </pre>
 *
 * {@code connect} and {@code share} send a record for every stream they track ({@link
 * StreamAborts#track}: the tunnelled streams; on the share, every stream the connector opens): a
 * FIN record as soon as QUIC has taken the FIN (a {@link QuicStreamFrame} with its FIN written
 * through the stream's pipeline, as the splice ends its half), else one when the channel closes (a
 * RESET record if this side reset it), while the QUIC connection is up; on one stream each opens
 * the first time it has one, and read the one the other opened (a second one open at the same time
 * is closed). A record for a stream that is still open here acts as the end it names would, on a
 * later task of the loop: a FIN once this side has read the final size (as {@link
 * ChannelInputShutdownEvent}, which the splice takes once: the real FIN usually follows or came
 * first), a RESET at once (as {@link QuicStreamResetException}); a record for a stream already
 * closed here, never opened here, or of an unknown kind is dropped. At most {@value #MAX_QUEUED}
 * records wait for the stream to open or for room in its window (a peer that does not read them):
 * later ones are dropped (the ends themselves still almost always arrive). If the stream cannot be
 * opened (the other peer refuses it: it predates the records and resets an unknown preamble, an old
 * share with one rate-limited line; or it is over its budget), that QUIC connection sends no more
 * records. The gateway tracks its streams as {@code connect} does (its HTTP codec goes after the
 * counter, {@link #HANDLER_NAME}). All of it runs on the QUIC connection's event loop, which its
 * streams share.
 */
public final class StreamEnds {
    private static final Logger log = LoggerFactory.getLogger(StreamEnds.class);

    public static final byte FIN = 0x00;
    public static final byte RESET = 0x01;
    public static final int RECORD_LENGTH = 17;
    public static final int MAX_QUEUED = 1_024;

    /**
     * The name of the byte-counting handler first in a tracked stream's pipeline: a codec that must
     * see the stream's bytes goes after it.
     */
    public static final String HANDLER_NAME = "stream-ends";

    private static final AttributeKey<Sender> SENDER =
            AttributeKey.valueOf(StreamEnds.class, "sender");
    private static final AttributeKey<Boolean> READING =
            AttributeKey.valueOf(StreamEnds.class, "reading");

    private StreamEnds() {}

    /**
     * Counts {@code stream}'s bytes both ways from now on and sends its record: a FIN record once
     * QUIC takes its FIN (written as a frame through the pipeline), else one when it closes. From
     * {@link StreamAborts#track}, before the stream's first byte either way.
     */
    static void watch(QuicStreamChannel stream) {
        Offsets offsets = new Offsets();
        stream.pipeline().addFirst(HANDLER_NAME, offsets);
        stream.closeFuture()
                .addListener(
                        f -> {
                            if (offsets.resetError >= 0) {
                                send(stream, record(RESET, stream.streamId(), offsets.resetError));
                            } else if (!offsets.finRecorded) {
                                send(stream, record(FIN, stream.streamId(), offsets.written));
                            }
                        });
    }

    /** Sends {@code record} on {@code stream}'s connection, unless the whole tunnel ended. */
    private static void send(QuicStreamChannel stream, ByteBuf record) {
        QuicChannel quic = stream.parent();
        if (!quic.isActive()) {
            record.release();
            return;
        }
        Sender s = quic.attr(SENDER).get();
        if (s == null) {
            s = new Sender(quic);
            quic.attr(SENDER).set(s);
        }
        s.send(record);
    }

    /**
     * Whether the other peer has ended {@code stream}'s incoming half: netty read its FIN, or its
     * end record ended it here (netty's {@code isInputShutdown()} knows only the first). Any
     * thread.
     */
    public static boolean inputEnded(QuicStreamChannel stream) {
        if (stream.isInputShutdown()) return true;
        Offsets o = stream.pipeline().get(Offsets.class);
        return o != null && o.ended;
    }

    /**
     * This side resets {@code stream}'s sending half with {@code error}: its record says so. Before
     * the reset.
     */
    static void resetting(QuicStreamChannel stream, long error) {
        Offsets o = stream.pipeline().get(Offsets.class);
        if (o != null && o.resetError < 0) o.resetError = error;
    }

    /** One record, as on the wire. */
    public static ByteBuf record(byte how, long stream, long value) {
        return Unpooled.buffer(RECORD_LENGTH).writeByte(how).writeLong(stream).writeLong(value);
    }

    /**
     * Takes over a stream whose preamble said {@link StreamPreamble#STREAM_ENDS}: {@code rest} is
     * what was read after the preamble (owned here from now on). The caller's handlers must be off
     * the stream's pipeline already.
     */
    public static void adopt(QuicStreamChannel stream, ByteBuf rest) {
        boolean adopted =
                PeerControlStream.adopt(
                        stream,
                        rest,
                        READING,
                        p -> p.addLast(new FixedLengthFrameDecoder(RECORD_LENGTH), new Reader()));
        if (!adopted) log.debug("closed a second stream of end records");
    }

    /**
     * First in a tracked stream's pipeline: counts what is read and written (QUIC offsets: every
     * byte passes here), and delivers the other peer's end from its record.
     */
    static final class Offsets extends ChannelDuplexHandler {
        private long read;
        private long written;
        private long peerFinalSize = -1;
        // the end of input was passed on; read from other loops too (inputEnded)
        private volatile boolean ended;
        private long resetError = -1;
        private boolean finRecorded; // the FIN's record is sent: none again at the close
        private ChannelHandlerContext ctx;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) read += b.readableBytes();
            ctx.fireChannelRead(msg);
            endIfDue();
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            boolean fin = false;
            if (msg instanceof ByteBuf b) {
                written += b.readableBytes();
            } else if (msg instanceof QuicStreamFrame f) {
                written += f.content().readableBytes();
                fin = f.hasFin();
            }
            if (!fin || finRecorded) {
                ctx.write(msg, promise);
                return;
            }
            // The FIN's record leaves once QUIC has taken the FIN, not at the close: quiche may
            // never send a FIN that carries no bytes (see the class comment), and then the stream
            // does not close here either, until the other peer ends its half.
            long finalSize = written;
            ChannelPromise p = promise.unvoid();
            ctx.write(msg, p);
            p.addListener(
                    done -> {
                        if (!done.isSuccess() || finRecorded || resetError >= 0) return;
                        finRecorded = true;
                        QuicStreamChannel stream = (QuicStreamChannel) ctx.channel();
                        send(stream, record(FIN, stream.streamId(), finalSize));
                    });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            // Passed on even after the record's: a handler may fire the event again from the
            // pipeline's head (TargetDialHandler, for a FIN that came while it dialled), and this
            // cannot tell that from netty's. The splice acts on the first alone.
            if (evt instanceof ChannelInputShutdownEvent) ended = true;
            ctx.fireUserEventTriggered(evt);
        }

        /** The other peer's record: it ended its half with a FIN after {@code finalSize} bytes. */
        void peerEnded(long finalSize) {
            if (peerFinalSize < 0) peerFinalSize = finalSize;
            endIfDue();
        }

        private void endIfDue() {
            if (ended || peerFinalSize < 0 || read < peerFinalSize || ctx.isRemoved()) return;
            ended = true;
            log.debug(
                    "stream {}: its end came by record, at {} bytes",
                    ((QuicStreamChannel) ctx.channel()).streamId(),
                    read);
            later(() -> ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE));
        }

        /** The other peer's record: it reset its half with {@code error}. */
        void peerReset(long error) {
            if (ctx.isRemoved()) return;
            later(
                    () ->
                            ctx.fireExceptionCaught(
                                    new QuicStreamResetException(
                                            "the other peer reset the stream (its end record)",
                                            error)));
        }

        /**
         * On a later task of the loop, not now: netty hands a stream's own end over only when its
         * reader asks for more, but a record comes when it comes, possibly while the handler that
         * takes the end is being swapped (the share adds the splice in a task after its dial ends,
         * and an end fired before that would go nowhere).
         */
        private void later(Runnable r) {
            ctx.executor()
                    .execute(
                            () -> {
                                if (!ctx.isRemoved() && ctx.channel().isActive()) r.run();
                            });
        }
    }

    /** Acts on each record of the other peer's stream of records. */
    private static final class Reader extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf r)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            byte how;
            long id;
            long value;
            try {
                how = r.readByte();
                id = r.readLong();
                value = r.readLong();
            } finally {
                r.release();
            }
            QuicStreamChannel s =
                    StreamAborts.open(((QuicStreamChannel) ctx.channel()).parent(), id);
            if (s == null) return; // its end arrived, or it never was ours to track
            if (how == FIN) {
                Offsets o = s.pipeline().get(Offsets.class);
                if (o != null) o.peerEnded(value);
            } else if (how == RESET) {
                log.debug("stream {}: its reset came by record ({})", id, value);
                Offsets o = s.pipeline().get(Offsets.class);
                if (o != null) o.peerReset(value);
            }
        }

        /** The other peer ended its stream of records: so do we; the framing never fails. */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) ctx.close();
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("closed the other peer's end records: {}", cause.toString());
            ctx.close();
        }
    }

    /** This side's stream of records, opened on first use. */
    private static final class Sender {
        private final QuicChannel quic;
        private final ArrayDeque<ByteBuf> queued = new ArrayDeque<>();
        private QuicStreamChannel stream;
        private boolean opening;
        private boolean failed;
        private int unsent; // written, not yet taken by QUIC (its window is full)

        Sender(QuicChannel quic) {
            this.quic = quic;
        }

        void send(ByteBuf record) {
            if (failed) {
                record.release();
                return;
            }
            if (stream != null) {
                if (!stream.isActive()) {
                    record.release();
                    failed = true; // the other peer closed it: it does not take records
                } else if (unsent < MAX_QUEUED) {
                    unsent++;
                    QuicSendBatch.hold(quic);
                    stream.writeAndFlush(record).addListener(f -> unsent--);
                } else {
                    record.release();
                    log.debug("dropped an end record: the other peer does not read them");
                }
                return;
            }
            if (queued.size() >= MAX_QUEUED) {
                record.release();
                log.debug("dropped an end record: {} wait for their stream", MAX_QUEUED);
                return;
            }
            queued.add(record);
            if (!opening) open();
        }

        private void open() {
            opening = true;
            boolean waits =
                    StreamCredit.open(
                            quic,
                            new PathSignals.DropInbound(),
                            s -> {
                                s.write(
                                        Unpooled.wrappedBuffer(
                                                new byte[] {StreamPreamble.STREAM_ENDS}));
                                stream = s;
                                while (!queued.isEmpty()) {
                                    unsent++;
                                    s.write(queued.poll()).addListener(f -> unsent--);
                                }
                                s.flush();
                            },
                            this::fail);
            if (!waits) fail();
        }

        private void fail() {
            failed = true;
            opening = false;
            while (!queued.isEmpty()) queued.poll().release();
        }
    }
}
