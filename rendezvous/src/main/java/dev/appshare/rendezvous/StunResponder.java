package dev.appshare.rendezvous;

import dev.appshare.wire.net.ServerStats;
import dev.appshare.wire.path.StunAttributes;
import dev.appshare.wire.path.StunPackets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.ChangeRequestAttribute;
import org.ice4j.message.Message;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.ice4j.message.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers STUN Binding requests (RFC 5389) on the rendezvous's UDP ports, so that a peer learns its
 * server-reflexive address: the answer is a Binding success response, same transaction id, with
 * XOR-MAPPED-ADDRESS = the datagram's source address and port (plus ice4j's SOFTWARE attribute). No
 * authentication, no state. Anything else is dropped without an answer, logged at DEBUG at most: a
 * rendezvous must never become an error oracle or a reflector for arbitrary bytes.
 *
 * <p>Two ports, RFC 5780-style ({@link StunAttributes}): the server answers on its rendezvous port
 * and on a second one, one responder on each. Every answer names the other port in OTHER-ADDRESS; a
 * client that asks both learns whether its NAT maps per destination. A request with
 * CHANGE-REQUEST's change-port flag is answered from the other port, so a client learns whether its
 * NAT lets in what it never sent to; one asking to change the IP is not answered (one address). A
 * request carrying PADDING is answered padded to its own size, so a client learns the largest
 * payload that passes.
 *
 * <p>Amplification: exactly one datagram out per request in, never larger than the request, except
 * the smallest: an unpadded answer is 60 bytes (IPv4) to 84 (IPv6 both ways) with OTHER-ADDRESS and
 * ice4j's default SOFTWARE value "ice4j.org", against at least 20 bytes in; no worse than any STUN
 * server. A change-port answer goes to the request's source, as every answer does.
 *
 * <p>Back-pressure: requests cost nothing to send (and their source can be spoofed), so a flood can
 * outpace the uplink. Answers the kernel does not take wait in the channel's outbound buffer, which
 * this handler bounds with {@link #QUEUE_HIGH}: while the channel an answer would leave from is not
 * writable, requests are dropped unanswered (counted; logged at most once per {@link
 * #DROP_LOG_INTERVAL_NANOS}).
 */
@ChannelHandler.Sharable
public final class StunResponder extends SimpleChannelInboundHandler<DatagramPacket> {
    private static final Logger log = LoggerFactory.getLogger(StunResponder.class);

    /**
     * Largest request answered: 1500 (an Ethernet MTU) minus the IPv4 and UDP headers. A Binding
     * request is 20 to ~100 bytes; larger ones carry PADDING, to learn the largest payload that
     * passes (the answer is as large).
     */
    public static final int MAX_REQUEST = 1472;

    /**
     * Write-buffer watermarks of the STUN channel: what waits for the kernel beyond its socket
     * buffer. Over {@value #QUEUE_HIGH} bytes (with netty's 96 bytes of overhead per entry, about a
     * hundred answers) requests are dropped until the queue drains below {@value #QUEUE_LOW}. A
     * Binding client retransmits, so a dropped request costs it one retransmission interval.
     */
    public static final int QUEUE_LOW = 8 * 1024, QUEUE_HIGH = 16 * 1024;

    /** Drops are logged at most this often, with the count since the last line. */
    public static final long DROP_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final ServerStats stats;

    /**
     * The other STUN port's channel, named in OTHER-ADDRESS; change-port answers leave from it.
     * Null until {@link #pairWith}: then answers carry no OTHER-ADDRESS and change-port requests
     * are not answered.
     */
    private volatile Channel other;

    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong droppedLogged = new AtomicLong();
    private final AtomicLong lastDropLog =
            new AtomicLong(System.nanoTime() - DROP_LOG_INTERVAL_NANOS);

    public StunResponder() {
        this(new ServerStats());
    }

    /** Counts its answers into {@code stats}. */
    public StunResponder(ServerStats stats) {
        this.stats = stats;
    }

    /** Sets the watermarks on the channel this handler answers on (see {@link #QUEUE_HIGH}). */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel()
                .config()
                .setWriteBufferWaterMark(new WriteBufferWaterMark(QUEUE_LOW, QUEUE_HIGH));
    }

    /**
     * Pairs this responder with the other STUN port's channel (see {@link #other}); the other
     * port's responder is paired with this one's channel.
     */
    public void pairWith(Channel other) {
        this.other = other;
    }

    /** Requests dropped because answers were not leaving fast enough, since start. */
    public long dropped() {
        return dropped.get();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
        if (!ctx.channel().isWritable()) {
            // Checked first: under a flood, not even ice4j's decode is worth doing.
            noteDropped();
            return;
        }
        ByteBuf in = packet.content();
        InetSocketAddress sender = packet.sender();
        int n = in.readableBytes();
        int at = in.readerIndex();
        // RFC 5389 §7.3's cheap checks before handing the bytes to ice4j: STUN as the peers' demux
        // sees it (a full header, first byte 0..3, the magic cookie: RFC 3489 requests, which lack
        // it, are not answered), a Binding request type, and a length field that covers exactly
        // the rest of the datagram.
        if (n > MAX_REQUEST
                || !StunPackets.isStun(in)
                || in.getUnsignedShort(at) != Message.BINDING_REQUEST
                || in.getUnsignedShort(at + 2) != n - StunPackets.HEADER) {
            log.debug(
                    "STUN: dropped {} bytes from {}: not a Binding request of at most {} bytes",
                    n,
                    sender,
                    MAX_REQUEST);
            return;
        }
        byte[] bytes = ByteBufUtil.getBytes(in); // ice4j decodes arrays; at most MAX_REQUEST bytes
        Message m;
        try {
            // Parses the attributes and checks FINGERPRINT if there is one. Malformed attributes
            // throw
            // StunException, and some make ice4j throw ArrayIndexOutOfBoundsException: catch both.
            m = Message.decode(bytes, 0, bytes.length);
        } catch (Exception e) {
            log.debug("STUN: dropped a malformed request from {}: {}", sender, e.toString());
            return;
        }
        if (!(m instanceof Request) || m.getMessageType() != Message.BINDING_REQUEST) return;
        Channel peer = other;
        Channel out = ctx.channel();
        if (m.getAttribute(Attribute.CHANGE_REQUEST) instanceof ChangeRequestAttribute change) {
            if (change.getChangeIpFlag() || (change.getChangePortFlag() && peer == null)) {
                log.debug("STUN: dropped a change request from {}: one address", sender);
                return;
            }
            if (change.getChangePortFlag()) {
                out = peer;
                if (!out.isWritable()) {
                    noteDropped();
                    return;
                }
            }
        }
        byte[] reply;
        try {
            reply =
                    respond(
                            (Request) m,
                            sender,
                            peer == null ? null : (InetSocketAddress) peer.localAddress(),
                            StunAttributes.hasPadding(m) ? n : 0);
        } catch (Exception e) {
            log.debug("STUN: cannot answer {}: {}", sender, e.toString());
            return;
        }
        stats.stunAnswers.increment();
        out.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(reply), sender))
                .addListener(
                        f -> {
                            if (!f.isSuccess())
                                log.debug(
                                        "STUN: answer to {} not sent: {}",
                                        sender,
                                        f.cause().toString());
                        });
    }

    private void noteDropped() {
        long total = dropped.incrementAndGet();
        long now = System.nanoTime();
        long last = lastDropLog.get();
        if (now - last >= DROP_LOG_INTERVAL_NANOS && lastDropLog.compareAndSet(last, now)) {
            log.warn(
                    "STUN: answers are not leaving fast enough (over {} bytes queued): dropped {}"
                            + " requests since the last report",
                    QUEUE_HIGH,
                    total - droppedLogged.getAndSet(total));
        }
    }

    /**
     * The Binding success response to {@code request} from {@code sender}: XOR-MAPPED-ADDRESS,
     * OTHER-ADDRESS when {@code otherPort} is known, and, when {@code padTo} is over the unpadded
     * size, a PADDING that brings it to {@code padTo} bytes at most.
     */
    private static byte[] respond(
            Request request, InetSocketAddress sender, InetSocketAddress otherPort, int padTo)
            throws Exception {
        // createBindingResponse XORs the address with the request's transaction id, but does not
        // copy the id onto the response: set it. encode(null): the StunStack is only needed for
        // MESSAGE-INTEGRITY, which this response does not carry (FINGERPRINT, which
        // -Dorg.ice4j.ALWAYS_SIGN=true adds, encodes without one).
        Response r =
                MessageFactory.createBindingResponse(
                        request, new TransportAddress(sender, Transport.UDP));
        r.setTransactionID(request.getTransactionID());
        if (otherPort != null) r.putAttribute(StunAttributes.otherAddress(otherPort));
        byte[] plain = r.encode(null);
        int room = padTo - plain.length - StunAttributes.ATTRIBUTE_HEADER;
        if (room < 0) return plain;
        r.putAttribute(StunAttributes.padding(room));
        return r.encode(null);
    }

    /**
     * Loads ice4j's STUN classes and its configuration. The first encode reads ice4j's
     * configuration for the SOFTWARE value (typesafe config, kotlin-reflect: over a thousand
     * classes, about a second, more on a busy machine): done once per JVM at start on the caller's
     * thread, rather than on an event loop (shared with control connections) at the first request.
     */
    static void warmUp() {
        try {
            Request probe = MessageFactory.createBindingRequest();
            probe.setTransactionID(new byte[12]); // ice4j leaves it null (a StunStack would set it)
            byte[] request = probe.encode(null);
            respond(
                    (Request) Message.decode(request, 0, request.length),
                    new InetSocketAddress("127.0.0.1", 9),
                    new InetSocketAddress("127.0.0.1", 10),
                    request.length + 64);
        } catch (Exception e) {
            throw new IllegalStateException("ice4j's STUN codec does not work", e);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A read or send error on one datagram must not close the port for everyone else.
        log.debug("STUN: {}", cause.toString());
    }
}
