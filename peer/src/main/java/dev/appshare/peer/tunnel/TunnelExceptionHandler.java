package dev.appshare.peer.tunnel;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last handler on a tunnel's QUIC connection. An exception that reaches it (above all a failed
 * TLS handshake: the peer's key is not the one the rendezvous passed on) is one line at WARN, its
 * stack trace only at DEBUG (--verbose), and closes the connection. Without it netty logs each as
 * "reached the tail of the pipeline" with the whole trace.
 */
public final class TunnelExceptionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(TunnelExceptionHandler.class);

    /**
     * BoringSSL's reason when the trust manager rejected the peer's certificate. Ours ({@link
     * PinnedKeyTrustManager}) checks nothing but the pinned key, so this means the key differs.
     */
    private static final String VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED";

    private final String who;
    private final String peer;
    private final Runnable onHandshakeFailure;

    /**
     * @param who how log lines name this tunnel, e.g. "session 3f9c0a7be21d4c58"
     * @param peer the other side, e.g. "connector"
     * @param onHandshakeFailure run (on the event loop) after the handshake failed
     */
    public TunnelExceptionHandler(String who, String peer, Runnable onHandshakeFailure) {
        this.who = who;
        this.peer = peer;
        this.onHandshakeFailure = onHandshakeFailure;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        boolean handshake = cause instanceof SSLHandshakeException;
        if (handshake && String.valueOf(cause.getMessage()).contains(VERIFY_FAILED)) {
            log.warn("{}: the {}'s key does not match: closing", who, peer);
        } else if (handshake) {
            log.warn("{}: the tunnel handshake failed ({}): closing", who, cause.getMessage());
        } else {
            log.warn("{}: tunnel error ({}): closing", who, cause.toString());
        }
        log.debug("{}: the tunnel's exception", who, cause);
        ctx.close();
        if (handshake) onHandshakeFailure.run();
    }
}
