package dev.appshare.wire.tunnel;

import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;

/**
 * What a connector writes first on every stream it opens: which shared port to dial. QUIC tells the
 * far side a stream exists only when data arrives on it, and many services (SSH, SMTP, MySQL) speak
 * first, so the connector sends this at once; the sharer dials when it has read it. Layouts (u16 in
 * network order):
 *
 * <pre>
 * 0x01                 OPEN_TCP          the share's only port (refused if it shares several)
 * 0x02 | u16 port      OPEN_PORT         exactly this shared port (connect --local L:PORT)
 * 0x03 | u16 port      OPEN_PORT_OR_ONLY this port if shared, else the share's only port
 *                                        (connect --local PORT)
 * 0x04 | u64 stream    ABORT_STREAM      no connection: the sender aborted its stream with this
 *                                        id after it had already sent its FIN (either peer
 *                                        sends it; see StreamAborts)
 * 0x05 | frames        PATH_SIGNALS      no connection: the sender's ICE restart signals follow,
 *                                        framed as on the control connection (either peer opens
 *                                        one; see PathSignals)
 * 0x06 | records       STREAM_ENDS       no connection: how the sender's streams ended, a
 *                                        17-byte record each (either peer opens one; see
 *                                        StreamEnds)
 * </pre>
 *
 * Any other first byte is a protocol error and resets the stream; the values leave room for later
 * stream kinds. A port the share does not expose resets the stream with {@link #REFUSED_ERROR}, so
 * the connector can tell "not shared" from a failed dial ({@code SpliceHandler.ABORT_ERROR}).
 */
public final class StreamPreamble {
    public static final byte OPEN_TCP = 0x01;
    public static final byte OPEN_PORT = 0x02;
    public static final byte OPEN_PORT_OR_ONLY = 0x03;
    public static final byte ABORT_STREAM = 0x04;
    public static final byte PATH_SIGNALS = 0x05;
    public static final byte STREAM_ENDS = 0x06;

    /**
     * The longest preamble: a kind byte and a u64 stream id. The sharer holds no more before it
     * knows.
     */
    public static final int MAX_LENGTH = 9;

    private static final int PORT_LENGTH = 3;

    /** QUIC application error of the RESET_STREAM for a port the share does not expose. */
    public static final int REFUSED_ERROR = 2;

    /**
     * QUIC application error of the RESET_STREAM for a stream over the share's budget (it holds its
     * most connections, for this connector or for all).
     */
    public static final int BUSY_ERROR = 3;

    /**
     * QUIC application error of the RESET_STREAM for a stream whose preamble did not come whole in
     * time (the share's {@code TargetDialHandler.PREAMBLE_MILLIS}): a path stalled that long, or a
     * connector that sent part of one and then nothing.
     */
    public static final int LATE_ERROR = 4;

    /**
     * A connector's ask: {@code port} is 0 for {@link #OPEN_TCP}; {@code stream} is the aborted
     * stream's id for {@link #ABORT_STREAM}, else -1.
     */
    public record Request(byte kind, int port, long stream) {
        public Request(byte kind, int port) {
            this(kind, port, -1);
        }

        /** Whether the share's only port answers when {@code port} is not shared. */
        public boolean takesOnlyPort() {
            return kind != OPEN_PORT;
        }
    }

    private StreamPreamble() {}

    /** The preamble asking for {@code port}, or for the share's only port if {@code orOnly}. */
    public static byte[] encode(int port, boolean orOnly) {
        if (port < 0 || port > 0xFFFF) throw new IllegalArgumentException("port " + port);
        return new byte[] {orOnly ? OPEN_PORT_OR_ONLY : OPEN_PORT, (byte) (port >> 8), (byte) port};
    }

    /** The notice that this side aborted stream {@code stream} after sending its FIN. */
    public static byte[] encodeAbort(long stream) {
        if (stream < 0) throw new IllegalArgumentException("stream " + stream);
        return ByteBuffer.allocate(MAX_LENGTH).put(ABORT_STREAM).putLong(stream).array();
    }

    /**
     * Reads a preamble from the start of {@code in}: the request (its bytes consumed), null if more
     * bytes are needed (nothing consumed), or an {@link IllegalArgumentException} for an unknown
     * kind.
     */
    public static Request decode(ByteBuf in) {
        if (!in.isReadable()) return null;
        byte kind = in.getByte(in.readerIndex());
        switch (kind) {
            case OPEN_TCP, PATH_SIGNALS, STREAM_ENDS -> {
                in.skipBytes(1);
                return new Request(kind, 0);
            }
            case OPEN_PORT, OPEN_PORT_OR_ONLY -> {
                if (in.readableBytes() < PORT_LENGTH) return null;
                in.skipBytes(1);
                return new Request(kind, in.readUnsignedShort());
            }
            case ABORT_STREAM -> {
                if (in.readableBytes() < MAX_LENGTH) return null;
                in.skipBytes(1);
                return new Request(kind, 0, in.readLong());
            }
            default ->
                    throw new IllegalArgumentException(
                            "unknown preamble 0x" + Integer.toHexString(kind & 0xFF));
        }
    }
}
