package dev.appshare.wire.relay;

/**
 * The relay's whole protocol. A client connects over TCP and sends one ASCII line:
 *
 * <pre>
 *   "RELAY " token "\n"          token: base64url, at most {@value RelayToken#MAX_TEXT} chars
 * </pre>
 *
 * It then sends nothing until the relay answers with one line:
 *
 * <pre>
 *   "OK\n"                        paired: from the next byte on, the connection is spliced to its partner
 *   "ERR " reason "\n"            then the relay closes; reason is one of the constants below
 * </pre>
 *
 * After "OK" the relay parses nothing: bytes in, bytes out, until either side closes.
 */
public final class RelayProtocol {
    public static final String HELLO = "RELAY ";
    public static final String OK = "OK";
    public static final String ERR = "ERR ";

    /** Longest line the relay reads before giving up on a client. */
    public static final int MAX_LINE = HELLO.length() + RelayToken.MAX_TEXT + 2;

    /**
     * The relay answers every connection within this long of its accept: "OK" once the partner
     * came, else "ERR timeout". Both peers dial at once after the rendezvous answered, so a partner
     * later than this is not coming; the bound frees a silent or lone client's socket.
     */
    public static final long PAIRING_TIMEOUT_MILLIS = 10_000;

    /**
     * A spliced pair that has moved no byte in either direction for this long is closed, both
     * sides. Peers send a QUIC keep-alive every 5 s and QUIC itself gives up after 30 s of silence,
     * so a live tunnel never comes near it; it frees the sockets of pairs whose peers vanished
     * without a FIN or reset (and of anyone holding a splice open for nothing).
     */
    public static final long SPLICE_IDLE_MILLIS = 60_000;

    public static final String BAD_REQUEST = "bad-request";
    public static final String BAD_TOKEN = "bad-token";
    public static final String SPENT_TOKEN = "spent-token";
    public static final String NO_PARTNER = "no-partner";
    public static final String BUSY = "busy";
    public static final String TIMEOUT = "timeout";

    private RelayProtocol() {}
}
