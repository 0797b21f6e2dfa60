package dev.appshare.rendezvous;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.rendezvous.ShareRegistry.Registration;
import dev.appshare.rendezvous.ShareRegistry.Session;
import dev.appshare.rendezvous.ShareRegistry.Share;
import dev.appshare.wire.rendezvous.ProtocolException;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.security.PublicKey;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One peer's control connection on the server. The first message must be REGISTER or CONNECT and
 * must arrive within the handshake timeout; after that the connection is a share or a connector for
 * good. (Or HELLO, {@code appshare doctor}'s question, answered once before the server closes.) Any
 * protocol error is answered with ERROR and the connection closed; it never affects other
 * connections.
 */
public final class RendezvousHandler extends SimpleChannelInboundHandler<RendezvousMessage> {
    private static final Logger log = LoggerFactory.getLogger(RendezvousHandler.class);

    private final RendezvousServer server;
    private ScheduledFuture<?> handshakeDeadline;
    private Share share; // set once this connection registered a share
    private boolean connector; // set once this connection asked for a share
    // Between REGISTER and PROVE: the key to be proven, the name asked for, and the challenge.
    private PublicKey registering;
    private long registeringSince; // System.nanoTime() at REGISTER
    private String registeringName;
    private boolean registeringPublic; // REGISTER public=1
    private String registeringAuth; // REGISTER auth=, with public=1
    private String nonce;
    private long lastUnknown = System.nanoTime() - UNKNOWN_NAME_INTERVAL_NANOS;
    public static final long UNKNOWN_NAME_INTERVAL_NANOS = 900_000_000L;

    /**
     * PINGs answered per connection: a burst of {@value #PING_BURST}, then one per {@link
     * #PING_INTERVAL_NANOS}; one more is {@code busy}, and close. A peer PINGs once per heartbeat
     * (HEARTBEAT_MILLIS, 15 s); without this bound one connection pouring PINGs kept an event loop
     * answering them (1.4 million from 8 MiB) and starved every other client on it.
     */
    public static final int PING_BURST = 10;

    public static final long PING_INTERVAL_NANOS = 1_000_000_000L;

    /** The time up to which PING credit is spent (GCRA): a PING is answered if it is past. */
    private long pingsSpentUntil;

    private boolean pingsRefused; // the ERROR is on its way: the PINGs behind it are dropped

    /**
     * Set once the connection is being closed (an ERROR that closes is on its way, or it was closed
     * at once): the messages behind it, decoded from the same read, are dropped. Without this a
     * CONNECT pipelined behind a bad message still opened a session (and sent the share an
     * INCOMING) for a connector already closing, or, where the close had already run, one that
     * never ended.
     */
    private boolean closing;

    private static final AttributeKey<Boolean> NOT_READING =
            AttributeKey.valueOf(RendezvousHandler.class, "notReading");

    /**
     * When the connection's queue went over its high-water mark ({@code nanoTime}); unset below.
     */
    private static final AttributeKey<Long> FULL_SINCE =
            AttributeKey.valueOf(RendezvousHandler.class, "fullSince");

    private final InetAddress from; // the source address, whose budgets this connection spends

    RendezvousHandler(RendezvousServer server, InetAddress from) {
        this.server = server;
        this.from = from;
        this.pingsSpentUntil =
                server.config().nanoTime.getAsLong() - PING_BURST * PING_INTERVAL_NANOS;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        handshakeDeadline =
                ctx.executor()
                        .schedule(
                                () -> fail(ctx, E_TIMEOUT, "no REGISTER or CONNECT in time"),
                                server.config().handshakeTimeoutMillis,
                                TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) ctx.channel().attr(FULL_SINCE).set(null);
        else ctx.channel().attr(FULL_SINCE).setIfAbsent(server.config().nanoTime.getAsLong());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, RendezvousMessage m)
            throws ProtocolException {
        if (closing || !ctx.channel().isActive()) return;
        switch (m.type()) {
            case PING -> onPing(ctx);
            case PONG -> {}
            case REGISTER -> onRegister(ctx, m);
            case PROVE -> onProve(ctx, m);
            case CONNECT -> onConnect(ctx, m);
            case HELLO -> onHello(ctx, m);
            case SIGNAL, PAKE -> onForward(ctx, m);
            case END -> onEnd(ctx, m);
            default -> throw new ProtocolException("unexpected " + m.type());
        }
    }

    /**
     * A peer says its session is over: forget it and tell the other peer, so that a share frees the
     * PAKE slot of a connector that walked away at once rather than at its timeout.
     */
    private void onEnd(ChannelHandlerContext ctx, RendezvousMessage m) throws ProtocolException {
        Session s = server.registry().end(m.require("session"), ctx.channel());
        if (s != null)
            tellLeft(s.other(ctx.channel()), RendezvousMessage.of(END, "session", s.id()));
    }

    private void onPing(ChannelHandlerContext ctx) {
        if (pingsRefused) return;
        long now = server.config().nanoTime.getAsLong();
        long spent = Math.max(pingsSpentUntil, now - PING_BURST * PING_INTERVAL_NANOS);
        if (spent + PING_INTERVAL_NANOS > now) {
            pingsRefused = true;
            ctx.channel().config().setAutoRead(false); // read no more of the flood
            fail(ctx, E_BUSY, "too many PINGs; one per heartbeat is enough");
            return;
        }
        pingsSpentUntil = spent + PING_INTERVAL_NANOS;
        send(ctx.channel(), RendezvousMessage.of(PONG));
    }

    /**
     * REGISTER names a key and maybe a name; the server answers with a fresh challenge, and
     * registers only once PROVE shows the key signed it (the handshake deadline runs until then).
     */
    private void onRegister(ChannelHandlerContext ctx, RendezvousMessage m)
            throws ProtocolException {
        if (share != null || connector || registering != null)
            throw new ProtocolException("REGISTER twice");
        checkVersion(m);
        PublicKey key = RegistrationProof.decodeKey(m.require("key"));
        String wanted = m.get("name");
        if (wanted != null && !NameAllocator.isValid(wanted)) {
            fail(ctx, E_BAD_NAME, "a name is 3-48 characters of a-z, 0-9 and '-'");
            return;
        }
        String auth = m.get("auth");
        if (auth != null && !auth.matches(AUTH_PATTERN))
            throw new ProtocolException("auth is not a base64url SHA-256");
        // A registration spends a look-up of its address: without a budget one address could
        // register and leave in a loop (a signature check and two log lines each, 55-115 KB of log
        // a second from one process), its reservation keeping the same live-share slot.
        if (!server.budgets().lookup(from)) {
            fail(ctx, E_BUSY, "too many registrations and look-ups from your address; slow down");
            return;
        }
        registering = key;
        registeringSince = System.nanoTime();
        registeringName = wanted;
        registeringPublic = "1".equals(m.get("public"));
        registeringAuth = registeringPublic ? auth : null;
        nonce = RegistrationProof.nonce(server.random());
        send(ctx.channel(), RendezvousMessage.of(CHALLENGE, "nonce", nonce));
    }

    private void onProve(ChannelHandlerContext ctx, RendezvousMessage m) throws ProtocolException {
        if (registering == null || share != null)
            throw new ProtocolException("PROVE without REGISTER");
        if (!RegistrationProof.verify(registering, nonce, m.require("sig")))
            throw new ProtocolException("the signature does not match the key");
        String owner = RegistrationProof.fingerprint(registering);
        String wanted = registeringName;
        // The registry takes the address's live-share budget slot (or keeps the one the owner's
        // reservation holds).
        // A public share (on a server with a gateway) gets its URL's label, from its key.
        PublicUrls urls = server.config().publicUrls;
        String label = registeringPublic && urls != null ? PublicUrls.label(owner) : null;
        Registration r =
                server.registry()
                        .register(wanted, ctx.channel(), owner, from, label, registeringAuth);
        switch (r.claim()) {
            case TAKEN ->
                    fail(
                            ctx,
                            E_NAME_TAKEN,
                            "the name " + wanted + " is held or reserved for another share");
            case EXHAUSTED -> fail(ctx, E_BUSY, "no free name found; try again");
            case BUSY -> fail(ctx, E_BUSY, "too many shares from your address");
            case OK -> {
                cancelHandshake();
                server.config().stats.handshake("register", System.nanoTime() - registeringSince);
                share = r.share();
                if (r.replaced() != null) {
                    log.info(
                            "share {} re-registered from {}",
                            share.name(),
                            ctx.channel().remoteAddress());
                    r.replaced().channel().close();
                } else {
                    log.info(
                            "share {} registered from {}",
                            share.name(),
                            ctx.channel().remoteAddress());
                }
                send(
                        ctx.channel(),
                        share.isPublic()
                                ? RendezvousMessage.of(
                                        REGISTERED,
                                        "name",
                                        share.name(),
                                        "label",
                                        share.label(),
                                        "url",
                                        urls.url(share.label()),
                                        "gateway",
                                        urls.gatewayFingerprint())
                                : RendezvousMessage.of(REGISTERED, "name", share.name()));
            }
        }
    }

    /**
     * {@code appshare doctor} asks what this server offers: the relay it sends peers to and its two
     * STUN ports. Only as a connection's first message; answered once, then closed.
     */
    private void onHello(ChannelHandlerContext ctx, RendezvousMessage m) throws ProtocolException {
        if (share != null || registering != null || connector)
            throw new ProtocolException("HELLO is a connection's only message");
        checkVersion(m);
        closing = true;
        cancelHandshake();
        ChannelFuture f =
                send(
                        ctx.channel(),
                        RendezvousMessage.of(
                                WELCOME,
                                "v",
                                VERSION,
                                "relay",
                                server.config().relayAdvertised,
                                "stun",
                                String.valueOf(server.stunAddress().getPort()),
                                "alt",
                                server.stunAltPortText()));
        if (f != null) f.addListener(ChannelFutureListener.CLOSE);
        else ctx.close();
    }

    private void onConnect(ChannelHandlerContext ctx, RendezvousMessage m)
            throws ProtocolException {
        if (share != null || registering != null)
            throw new ProtocolException("a share cannot CONNECT");
        checkVersion(m);
        String name = m.require("name");
        if (server.registry().holdsSession(ctx.channel()))
            throw new ProtocolException("CONNECT while a session is open; END it first");
        cancelHandshake();
        connector = true;
        // Budgets per source address: a look-up whatever the name (so guessing costs one), and a
        // relay token for each CONNECT that reaches a share, checked before a session is opened.
        if (!server.budgets().lookup(from)) {
            fail(ctx, E_BUSY, "too many look-ups from your address; slow down");
            return;
        }
        Share target = NameAllocator.isValid(name) ? server.registry().lookup(name) : null;
        if (target != null && !server.budgets().mintToken(from)) {
            fail(ctx, E_BUSY, "too many connections asked for from your address; slow down");
            return;
        }
        Session s = target != null ? server.registry().open(target, ctx.channel()) : null;
        if (s == null && target != null && server.registry().lookup(name) == target) {
            fail(ctx, E_BUSY, "share " + name + " has too many connectors");
            return;
        }
        if (s == null) {
            // No such share, or it left (or re-registered) between lookup and open. Not fatal: a
            // connector waiting for a share to come back asks again on this connection, but no
            // faster than once a second, which keeps guessing names slow.
            long now = System.nanoTime();
            if (now - lastUnknown < UNKNOWN_NAME_INTERVAL_NANOS) {
                fail(ctx, E_BUSY, "too many lookups of unknown names; slow down");
                return;
            }
            lastUnknown = now;
            send(
                    ctx.channel(),
                    RendezvousMessage.of(
                            ERROR,
                            "code",
                            E_UNKNOWN_NAME,
                            "message",
                            // not echoed when no share could have it: up to a frame of it, the
                            // answer would outgrow its own frame and be lost
                            NameAllocator.isValid(name)
                                    ? "no share named " + name
                                    : "no share has a name like that"));
            return;
        }
        String token = server.tokens().mint(server.config().tokenLifetimeMillis);
        String relay = server.config().relayAdvertised;
        String alt = server.stunAltPortText(); // the second STUN port
        log.debug(
                "connector {} joined share {} (session {})",
                ctx.channel().remoteAddress(),
                name,
                s.id());
        send(
                target.channel(),
                RendezvousMessage.of(
                        INCOMING,
                        "session",
                        s.id(),
                        "from",
                        addressText(from),
                        "token",
                        token,
                        "relay",
                        relay,
                        "alt",
                        alt));
        send(
                ctx.channel(),
                RendezvousMessage.of(
                        ACCEPTED, "session", s.id(), "token", token, "relay", relay, "alt", alt));
    }

    /**
     * SIGNAL and PAKE go to the session's other peer, unchanged but for the re-encoding, counted
     * against the session's budget ({@link RendezvousProtocol#MAX_SIGNALS_PER_SESSION} each way).
     * The server does not look inside: the PAKE is between the peers, and what it proves (the code,
     * both TLS keys) is out of the server's reach.
     */
    private void onForward(ChannelHandlerContext ctx, RendezvousMessage m)
            throws ProtocolException {
        // Closed for signalling too fast (below) while the rest of its read is still decoded: the
        // rest is dropped, not forwarded.
        if (!ctx.channel().isActive()) return;
        Session s = server.registry().session(m.require("session"));
        if (s == null) return; // the session ended meanwhile: nothing to forward to
        if (s.connector() != ctx.channel() && s.share().channel() != ctx.channel()) {
            throw new ProtocolException(m.type() + " for another peer's session");
        }
        Channel to = s.other(ctx.channel());
        // The partner's write buffer, read from this event loop: null once the partner's channel
        // is closing (netty drops the buffer before the channel turns inactive), when it is not
        // writable either. A partner that is leaving is no fault of the sender's: a connector that
        // walked away just as the share's PAKE step 1 was forwarded used to close the share.
        ChannelOutboundBuffer queued = to.unsafe().outboundBuffer();
        if (!to.isActive() || queued == null) return; // the partner is gone or going
        if (!queued.isWritable()) {
            // SIGNAL volume is the sender's doing: a peer that signals faster than its partner
            // reads loses its own connection, never its partner's. Otherwise anyone who knows a
            // share's name could knock the share off the rendezvous with a burst of SIGNALs.
            server.closedFastSignallers()
                    .refused(
                            "closed: signals faster than its partner reads",
                            ctx.channel().remoteAddress());
            ctx.close();
            return;
        }
        if (!s.countSignal(ctx.channel())) return; // past the session's budget: dropped
        // Not send(): the sender has paid for this write above. The partner's buffer is read from
        // this event loop while the partner's own loop changes it, so it can turn unwritable
        // between the two looks; send() would then close the partner as a non-reader, which is what
        // the check above exists to prevent. At most this one message goes over the mark.
        queue(to, m);
    }

    /**
     * Writes a message to a control connection, unless that connection is not reading: with {@link
     * RendezvousServer#QUEUE_HIGH} bytes waiting for it (it is not writable) since {@link
     * RendezvousServer#NOT_READING_MILLIS} ago, the message is dropped and the connection closed.
     * Whoever caused the write (its own PING, a connector's CONNECT), the one closed is the
     * connection that does not read, so a peer that stops reading cannot make the server queue more
     * for it than those budgets let its causes send meanwhile. A queue that is full for less time
     * takes the message: strangers can fill a reading share's queue for a moment. (Not for what the
     * other side of a session caused: a SIGNAL or PAKE is checked in onForward, where its sender
     * pays, and END or GONE goes through {@link #tellLeft}.)
     *
     * @return the write, or null if the message was dropped
     */
    private ChannelFuture send(Channel to, RendezvousMessage m) {
        if (!to.isActive()) return null;
        if (!to.isWritable() && !fullForLong(to)) return queue(to, m);
        if (!to.isWritable()) {
            // A close asked for from another event loop takes effect later: say it once.
            if (to.attr(NOT_READING).setIfAbsent(Boolean.TRUE) == null) {
                server.closedNonReaders()
                        .refused(
                                "closed: does not read (over "
                                        + RendezvousServer.QUEUE_HIGH
                                        + " bytes wait for it)",
                                to.remoteAddress());
            }
            to.close();
            return null;
        }
        return queue(to, m);
    }

    /**
     * Whether {@code to}'s queue has been over its mark for {@link
     * RendezvousServer#NOT_READING_MILLIS}. From any event loop: the mark's crossing is recorded on
     * {@code to}'s own, later than it happens (unset yet counts as just now).
     */
    private boolean fullForLong(Channel to) {
        Long since = to.attr(FULL_SINCE).get();
        return since != null
                && server.config().nanoTime.getAsLong() - since
                        >= TimeUnit.MILLISECONDS.toNanos(RendezvousServer.NOT_READING_MILLIS);
    }

    /** Writes {@code m} to {@code to} whatever it has queued, and records the queue's peak. */
    private ChannelFuture queue(Channel to, RendezvousMessage m) {
        ChannelFuture f = to.writeAndFlush(m);
        server.noteQueued(to);
        return f;
    }

    /**
     * Tells a peer that the other side of a session left (END, GONE): written if it is reading,
     * dropped if not. Unlike {@link #send}, never closes it: the other side caused this message,
     * and may have filled the peer's queue itself (a stranger's SIGNALs within the session's
     * budget), so closing here would let anyone who knows a share's name knock it off by
     * connecting, signalling and leaving. A peer that misses an END frees the session at its own
     * timeout.
     */
    private void tellLeft(Channel to, RendezvousMessage m) {
        if (to.isActive() && to.isWritable()) queue(to, m);
    }

    private static void checkVersion(RendezvousMessage m) throws ProtocolException {
        if (!VERSION.equals(m.get("v")))
            throw new ProtocolException("unsupported protocol version " + m.get("v"));
    }

    /** The connector's address for INCOMING: a literal, without an IPv6 scope ("%eth0"). */
    static String addressText(InetAddress a) {
        String t = a.getHostAddress();
        int scope = t.indexOf('%');
        return scope < 0 ? t : t.substring(0, scope);
    }

    private void cancelHandshake() {
        if (handshakeDeadline != null) handshakeDeadline.cancel(false);
    }

    private void fail(ChannelHandlerContext ctx, String code, String message) {
        // One ERROR per connection, and nothing more read: each bad frame used to queue an ERROR
        // of its own, which a connection whose queue was full (within the grace of send) could
        // repeat at event-loop speed.
        if (closing) return;
        closing = true;
        ctx.channel().config().setAutoRead(false);
        cancelHandshake();
        log.debug(
                "closing control connection {}: {} {}",
                ctx.channel().remoteAddress(),
                code,
                message);
        if (!ctx.channel().isWritable()) {
            ctx.close(); // its own queue is full: the ERROR would wait behind it
            return;
        }
        ChannelFuture f =
                send(ctx.channel(), RendezvousMessage.of(ERROR, "code", code, "message", message));
        if (f != null) f.addListener(ChannelFutureListener.CLOSE);
        else ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            log.debug("control connection {} idle: closing", ctx.channel().remoteAddress());
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelHandshake();
        Channel ch = ctx.channel();
        // Gives back the share's budget slot, unless its name stays reserved (which keeps it).
        ShareRegistry.Dropped dropped = server.registry().drop(ch, share);
        for (Session s : dropped.sessions()) {
            if (s.connector() != ch) {
                tellLeft(s.connector(), RendezvousMessage.of(GONE, "session", s.id()));
            } else {
                // The connector left: its share frees what the session held (a PAKE slot).
                tellLeft(s.share().channel(), RendezvousMessage.of(END, "session", s.id()));
            }
        }
        if (share != null && server.registry().lookup(share.name()) == null) {
            log.info(
                    "share {} left{}",
                    share.name(),
                    dropped.reserved() ? " (its name stays reserved for its key)" : "");
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c =
                cause instanceof DecoderException && cause.getCause() != null
                        ? cause.getCause()
                        : cause;
        if (c instanceof ProtocolException || cause instanceof DecoderException) {
            fail(ctx, E_BAD_REQUEST, c.getMessage() == null ? c.toString() : c.getMessage());
        } else {
            log.debug(
                    "control connection {} failed: {}",
                    ctx.channel().remoteAddress(),
                    c.toString());
            ctx.close();
        }
    }
}
