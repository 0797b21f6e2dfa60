package dev.appshare.path;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The path layer: sits on the peer's UDP channel between the socket and the QUIC codec, and carries
 * each datagram the codec sends on the active path. The codec always talks to
 * {@link VirtualAddresses#REMOTE}; datagrams from any path are handed to it as coming from there.
 *
 * <p>Paths: the relay (a spliced TCP connection carrying length-prefixed datagrams, see
 * {@link RelayPath}). The direct UDP path plugs in here: the socket below this handler is the one it
 * will use. All methods run on the UDP channel's event loop; the relay channel lives on the same loop,
 * so injecting its datagrams costs no thread hop.
 */
public final class PathSwitch extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(PathSwitch.class);

    /** Told when the path carrying the tunnel changes, and when no path is left. */
    public interface Listener {
        void pathChanged(String description);

        void allPathsLost(String why);
    }

    private final Listener listener;
    private ChannelHandlerContext ctx;
    private Channel relay;
    private String relayDescription;
    private long dropped;

    public PathSwitch(Listener listener) {
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Makes a paired relay connection the active path. */
    public void attachRelay(Channel relayChannel, String description) {
        assert ctx.executor().inEventLoop();
        relay = relayChannel;
        relayDescription = description;
        relayChannel.closeFuture().addListener(f -> ctx.executor().execute(() -> relayClosed(relayChannel)));
        listener.pathChanged("relay (via " + description + ")");
    }

    private void relayClosed(Channel ch) {
        if (relay != ch) return;
        relay = null;
        log.debug("relay path via {} closed ({} datagrams dropped while it was full)", relayDescription, dropped);
        listener.allPathsLost("the relay connection closed");
    }

    /** A datagram the relay carried in: hand it to the codec as coming from the peer. */
    void fromRelay(ByteBuf datagram) {
        ctx.fireChannelRead(new DatagramPacket(datagram, VirtualAddresses.LOCAL, VirtualAddresses.REMOTE));
    }

    /** The relay's read burst ended: the codec flushes its ACKs and data here. */
    void relayReadComplete() {
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        // Datagrams arriving on the UDP socket belong to the direct path, which is not enabled yet.
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof DatagramPacket packet)) {
            ctx.write(msg, promise);
            return;
        }
        Channel r = relay;
        if (r != null && r.isWritable()) {
            // The promise belongs to the UDP channel, so it cannot go with a write on the relay's.
            r.write(packet.content(), r.voidPromise());
            promise.trySuccess();
        } else {
            // Like a full UDP socket buffer: drop, and let QUIC's loss recovery resend. Queuing here
            // instead would hide congestion from QUIC and grow without bound.
            dropped++;
            packet.release();
            promise.trySuccess();
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        Channel r = relay;
        if (r != null) r.flush();
        ctx.flush();
    }

}
