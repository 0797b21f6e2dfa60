package dev.appshare.relay;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.HeldBytesHandler;
import dev.appshare.wire.net.LingeringClose;
import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.relay.RelayProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the pairing line, checks the token, and either parks the connection until its partner
 * arrives or splices the two. Every connection must finish pairing within the handshake timeout.
 */
final class PairingHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(PairingHandler.class);

    private final RelayServer relay;
    private ScheduledFuture<?> deadline;
    private String token;
    private long expiry;
    private boolean waiting;
    private long waitingSince; // System.nanoTime() when it began to wait for its partner

    PairingHandler(RelayServer relay) {
        this.relay = relay;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        deadline =
                ctx.executor()
                        .schedule(
                                () -> timeout(ctx),
                                relay.handshakeTimeoutMillis(),
                                TimeUnit.MILLISECONDS);
        ctx.read();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        String line = msg.toString();
        if (msg instanceof ByteBuf b) {
            line = b.toString(StandardCharsets.US_ASCII);
            b.release();
        }
        if (token != null) {
            // Anything after the pairing line and before "OK" breaks the protocol.
            reject(ctx, RelayProtocol.BAD_REQUEST);
            return;
        }
        if (!line.startsWith(RelayProtocol.HELLO)) {
            reject(ctx, RelayProtocol.BAD_REQUEST);
            return;
        }
        String t = line.substring(RelayProtocol.HELLO.length()).trim();
        long exp = relay.tokens().check(t);
        if (exp < 0) {
            reject(ctx, RelayProtocol.BAD_TOKEN);
            return;
        }
        token = t;
        expiry = exp;
        PairingTable.Result r = relay.table().offer(t, exp, ctx.channel());
        switch (r.outcome()) {
            case SPENT -> reject(ctx, RelayProtocol.SPENT_TOKEN);
            case FULL -> reject(ctx, RelayProtocol.BUSY);
            case WAITING -> {
                waiting = true; // no further read: the partner's arrival resumes us
                waitingSince = System.nanoTime();
            }
            case PAIRED -> pair(ctx, r.partner());
        }
    }

    /**
     * Runs on this (the second) connection's event loop. On epoll the pair is first put on one
     * event loop, the partner's: this connection is moved there, so the splice copies each chunk in
     * one thread, as socat does, instead of handing every chunk from one loop to the other (about
     * half the throughput, docs/benchmarks.md). On NIO the two stay on their own loops (see {@link
     * EventLoops#canMove}). Nothing is read from this connection until the splice starts, and its
     * idle clock starts only after the move, on its new loop.
     */
    private void pair(ChannelHandlerContext ctx, Channel partner) {
        cancelDeadline();
        Channel self = ctx.channel();
        if (self.eventLoop() == partner.eventLoop() || !EventLoops.canMove(self)) {
            splice(ctx, partner);
            return;
        }
        EventLoops.moveTo(self, partner.eventLoop())
                .addListener(
                        moved -> {
                            if (moved.isSuccess()) {
                                splice(ctx, partner);
                                return;
                            }
                            // The partner never sees "OK"; both close as on any failed pairing.
                            log.debug(
                                    "relay could not move {} to its partner's loop: {}",
                                    self.remoteAddress(),
                                    moved.cause().toString());
                            self.close();
                            partner.close();
                        });
    }

    /** Tells both "OK" and starts the splice; on this connection's (current) event loop. */
    private void splice(ChannelHandlerContext ctx, Channel partner) {
        Channel self = ctx.channel();
        HeldBytesHandler[] held = HeldBytesHandler.pair(relay.heldBytes(), relay::evicted);
        partner.eventLoop()
                .execute(
                        () -> {
                            PairingHandler h = partner.pipeline().get(PairingHandler.class);
                            if (h != null) h.becomeSpliced(partner.pipeline().context(h), held[1]);
                        });
        becomeSpliced(ctx, held[0]);
        ServerStats stats = relay.stats();
        stats.relayPairs.increment();
        stats.relayPairsTotal.increment();
        self.closeFuture().addListener(f -> stats.relayPairs.decrement());
        SpliceHandler.join(self, partner, stats.relayBytes);
        log.debug("relay paired {} <-> {}", self.remoteAddress(), partner.remoteAddress());
    }

    /**
     * Leaves the pairing stage: drop the line decoder and this handler, start the splice's idle
     * clock and its count in the relay's memory budget, tell the client "OK".
     */
    private void becomeSpliced(ChannelHandlerContext ctx, HeldBytesHandler held) {
        cancelDeadline();
        if (waiting) relay.stats().handshake("relay_pairing", System.nanoTime() - waitingSince);
        waiting = false;
        Channel ch = ctx.channel();
        ch.writeAndFlush(Unpooled.copiedBuffer(RelayProtocol.OK + "\n", StandardCharsets.US_ASCII));
        if (ch.pipeline().get("line") != null) ch.pipeline().remove("line");
        ch.pipeline().replace(this, "idle", new SpliceIdleHandler(relay.spliceIdleMillis()));
        ch.pipeline().addAfter("idle", "held", held);
    }

    /**
     * The pairing deadline. A waiting holder and its arriving partner race here: the partner claims
     * the holder in the table, then queues the splice on the holder's event loop, where this
     * deadline may run first. The table decides atomically: if the partner's claim came first, the
     * holder keeps waiting for the splice (no "ERR" before its "OK"); otherwise the token is spent
     * and a partner that arrives later gets "ERR spent-token", never an "OK" onto a closing
     * connection.
     */
    private void timeout(ChannelHandlerContext ctx) {
        if (waiting && !relay.table().abandon(token, expiry, ctx.channel())) return;
        waiting = false;
        reject(ctx, RelayProtocol.TIMEOUT);
    }

    private void reject(ChannelHandlerContext ctx, String reason) {
        cancelDeadline();
        if (waiting) {
            // Spend the token before the close is visible: channelInactive runs a task later, and a
            // newcomer with the same token could pair with this dying connection meanwhile.
            waiting = false;
            relay.table().abandon(token, expiry, ctx.channel());
        }
        log.debug("relay rejected {}: {}", ctx.channel().remoteAddress(), reason);
        relay.stats().refused("relay", reason.replace('-', '_'));
        ctx.writeAndFlush(
                        Unpooled.copiedBuffer(
                                RelayProtocol.ERR + reason + "\n", StandardCharsets.US_ASCII))
                .addListener((ChannelFutureListener) f -> LingeringClose.close(f.channel()));
    }

    private void cancelDeadline() {
        if (deadline != null) deadline.cancel(false);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelDeadline();
        if (waiting) relay.table().abandon(token, expiry, ctx.channel());
        ctx.fireChannelInactive();
    }

    /**
     * A FIN before "OK": the client gave up (it sends nothing else until "OK"). Close now rather
     * than at the pairing deadline, so its socket and its address's budget are freed at once. (A
     * waiting holder is not read, so its FIN is seen only at the deadline.)
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            log.debug("relay client {} left before pairing", ctx.channel().remoteAddress());
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof TooLongFrameException) {
            reject(ctx, RelayProtocol.BAD_REQUEST);
        } else {
            log.debug(
                    "relay connection {} failed: {}",
                    ctx.channel().remoteAddress(),
                    cause.toString());
            ctx.close();
        }
    }
}
