package dev.appshare.wire.tunnel;

/**
 * The first byte a connector writes on every stream it opens. QUIC tells the far side a stream
 * exists only when data arrives on it, and many services (SSH, SMTP, MySQL) speak first, so the
 * connector sends this byte at once; the sharer dials the shared port when it reads it. A different
 * byte is a protocol error and closes the stream; the value leaves room for later stream kinds.
 */
public final class StreamPreamble {
    public static final byte OPEN_TCP = 0x01;

    private StreamPreamble() {}
}
