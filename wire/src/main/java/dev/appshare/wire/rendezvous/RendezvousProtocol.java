package dev.appshare.wire.rendezvous;

/**
 * The rendezvous control protocol, version 1. Peers hold one TCP connection to the rendezvous; each
 * message is one {@link RendezvousFrames frame} holding one {@link RendezvousMessage} line.
 *
 * <pre>
 * share   -> server   REGISTER v=1 fp=HEX64 owner=HEX32 [name=NAME]
 * server  -> share    REGISTERED name=NAME
 * connect -> server   CONNECT v=1 name=NAME fp=HEX64
 * server  -> connect  ACCEPTED session=ID fp=HEX64 token=TOKEN relay=HOST:PORT
 * server  -> share    INCOMING session=ID fp=HEX64 token=TOKEN relay=HOST:PORT
 * either  -> server   SIGNAL session=ID ...      forwarded unchanged to the session's other peer
 * server  -> connect  GONE session=ID             the share left (its control connection closed)
 * either  -> server   PING                        every {@link #HEARTBEAT_MILLIS} ms
 * server  -> either   PONG
 * server  -> either   ERROR code=CODE message=TEXT   then the server closes, unless code is
 *                                                    unknown-name (the connector may ask again)
 * </pre>
 *
 * fp is the SHA-256 of the sender's TLS public key (SubjectPublicKeyInfo), in lower-case hex; owner
 * is a secret the share chose, so that only it can re-register its name after a reconnect; a name
 * is {@code adjective-animal-NNNN} or any [a-z0-9-]{3,48} a share asks for; a session id is 64
 * random bits in lower-case hex, never a counter (tunnels outlive a server restart and keep
 * theirs).
 */
public final class RendezvousProtocol {
    public static final String VERSION = "1";

    public static final String REGISTER = "REGISTER";
    public static final String REGISTERED = "REGISTERED";
    public static final String CONNECT = "CONNECT";
    public static final String ACCEPTED = "ACCEPTED";
    public static final String INCOMING = "INCOMING";
    public static final String SIGNAL = "SIGNAL";
    public static final String GONE = "GONE";
    public static final String PING = "PING";
    public static final String PONG = "PONG";
    public static final String ERROR = "ERROR";

    public static final String E_UNKNOWN_NAME = "unknown-name";
    public static final String E_NAME_TAKEN = "name-taken";
    public static final String E_BAD_NAME = "bad-name";
    public static final String E_BAD_REQUEST = "bad-request";
    public static final String E_VERSION = "version";
    public static final String E_TIMEOUT = "timeout";
    public static final String E_BUSY = "busy";

    /**
     * SIGNALs the server forwards per session in each direction; later ones are dropped. A peer
     * reads no more than this anyway (ICE needs about 30), so a connector cannot use SIGNAL to pour
     * traffic at a share through the server.
     */
    public static final int MAX_SIGNALS_PER_SESSION = 64;

    public static final long HEARTBEAT_MILLIS = 15_000;

    /** A connection silent for this long is dead: three missed heartbeats. */
    public static final long IDLE_MILLIS = 3 * HEARTBEAT_MILLIS;

    public static final String NAME_PATTERN = "[a-z0-9][a-z0-9-]{1,46}[a-z0-9]";
    public static final String FP_PATTERN = "[0-9a-f]{64}";
    public static final String OWNER_PATTERN = "[0-9a-f]{32}";

    /** A session id: 64 bits from a SecureRandom, lower-case hex (16 chars). */
    public static final String SESSION_PATTERN = "[0-9a-f]{16}";

    private RendezvousProtocol() {}
}
