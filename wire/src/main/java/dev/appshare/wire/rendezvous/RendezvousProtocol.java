package dev.appshare.wire.rendezvous;

/**
 * The rendezvous control protocol, version 2. Peers hold one TCP connection to the rendezvous; each
 * message is one {@link RendezvousFrames frame} holding one {@link RendezvousMessage} line.
 *
 * <pre>
 * share   -> server   REGISTER v=2 key=B64 [name=NAME]
 * server  -> share    CHALLENGE nonce=HEX64
 * share   -> server   PROVE sig=B64                 ECDSA over "appshare-register-v2 " + nonce
 * server  -> share    REGISTERED name=NAME
 * connect -> server   CONNECT v=2 name=NAME
 * server  -> share    INCOMING session=ID from=ADDR token=TOKEN relay=HOST:PORT
 * server  -> connect  ACCEPTED session=ID token=TOKEN relay=HOST:PORT
 * either  -> server   PAKE session=ID step=1|2|3 data=B64   forwarded to the other peer
 * share   -> server   PAKE session=ID refused=REASON       forwarded to the connector
 * either  -> server   SIGNAL session=ID ...      forwarded to the session's other peer
 * either  -> server   END session=ID              the session is over (the connector may ask again)
 * server  -> connect  GONE session=ID             the share left (its control connection closed)
 * either  -> server   PING                        every {@link #HEARTBEAT_MILLIS} ms
 * server  -> either   PONG
 * server  -> either   ERROR code=CODE message=TEXT   then the server closes, unless code is
 *                                                    unknown-name (the connector may ask again)
 * </pre>
 *
 * key is the share's public key (DER SubjectPublicKeyInfo, EC P-256, base64url): the share proves
 * it holds the private key by signing the server's fresh nonce ({@link RegistrationProof}), and a
 * name is held (and reserved for a while after its share leaves) for that key. The server never
 * learns the code's password nor passes on keys the peers trust: the peers prove the code to each
 * other with a PAKE (PAKE messages) whose confirmation covers both TLS keys. A name is the locating
 * part of a code (a number the server draws, or a name the share asks for); a session id is 64
 * random bits in lower-case hex, never a counter (tunnels outlive a server restart and keep
 * theirs).
 */
public final class RendezvousProtocol {
    public static final String VERSION = "2";

    public static final String REGISTER = "REGISTER";
    public static final String CHALLENGE = "CHALLENGE";
    public static final String PROVE = "PROVE";
    public static final String REGISTERED = "REGISTERED";
    public static final String CONNECT = "CONNECT";
    public static final String ACCEPTED = "ACCEPTED";
    public static final String INCOMING = "INCOMING";
    public static final String PAKE = "PAKE";
    public static final String SIGNAL = "SIGNAL";
    public static final String END = "END";
    public static final String GONE = "GONE";
    public static final String PING = "PING";
    public static final String PONG = "PONG";
    public static final String ERROR = "ERROR";

    /**
     * {@code HELLO v=2}: the first and only message of {@code appshare doctor}'s connection, which
     * asks what the server offers; answered with {@code WELCOME v=2 relay=R stun=PORT alt=PORT},
     * then the server closes.
     */
    public static final String HELLO = "HELLO";

    public static final String WELCOME = "WELCOME";

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

    /** A share's public key: base64url (no padding) of an EC P-256 SubjectPublicKeyInfo. */
    public static final String KEY_PATTERN = "[A-Za-z0-9_-]{40,200}";

    /** The server's challenge: 32 random bytes, lower-case hex. */
    public static final String NONCE_PATTERN = "[0-9a-f]{64}";

    /** An ECDSA signature (DER), base64url without padding. */
    public static final String SIG_PATTERN = "[A-Za-z0-9_-]{8,128}";

    /** A PAKE message's data: base64url of at most {@link #MAX_PAKE_BYTES} bytes. */
    public static final String PAKE_DATA_PATTERN = "[A-Za-z0-9_-]{1,700}";

    public static final int MAX_PAKE_BYTES = 512;

    /** The PAKE's steps: J-PAKE's two rounds and its key confirmation. */
    public static final String PAKE_STEP_PATTERN = "[123]";

    /**
     * Why a share refused to run the PAKE with a connector (PAKE refused=): it already serves its
     * most connectors, or too many wrong codes were tried lately.
     */
    public static final String REFUSED_BUSY = "busy";

    public static final String REFUSED_GUESSES = "guesses";

    /**
     * How long a name stays reserved for its share's key after the share's control connection
     * closes: long enough for the share to reconnect after a network blip or a server restart that
     * kept state, short enough that an abandoned name comes free.
     */
    public static final long NAME_RESERVATION_MILLIS = 5 * 60_000;

    /** A session id: 64 bits from a SecureRandom, lower-case hex (16 chars). */
    public static final String SESSION_PATTERN = "[0-9a-f]{16}";

    /**
     * A public share's label, the first label of its URL's host ({@code LABEL.DOMAIN}): 12 of
     * base32's lower-case letters and digits (60 bits), derived by the server from the share's key
     * ({@code PublicUrls.label}), so that it is the same across reconnects and server restarts and
     * tells nothing of the share's code.
     */
    public static final String LABEL_PATTERN = "[a-z2-7]{12}";

    /**
     * REGISTER's {@code auth=}: base64url (no padding) of the SHA-256 of {@code user:password}, the
     * basic-auth credentials the gateway asks visitors of a public share for.
     */
    public static final String AUTH_PATTERN = "[A-Za-z0-9_-]{43}";

    private RendezvousProtocol() {}
}
