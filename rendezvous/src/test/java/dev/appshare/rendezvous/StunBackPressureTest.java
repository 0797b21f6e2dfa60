package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import org.ice4j.message.Message;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.junit.jupiter.api.Test;

/**
 * A flood of Binding requests while answers cannot leave: the responder's queue stays bounded.
 *
 * <p>Why not a real socket: on loopback the kernel never refuses a UDP send (the sender's buffer is
 * released as soon as the datagram is handed over, whatever SO_SNDBUF says), so the outbound queue
 * cannot grow there. Here the channel is an EmbeddedChannel whose "socket" takes nothing while
 * {@code full} is set, as a send that returns 0 on a congested uplink: netty keeps each answer in
 * the channel's outbound buffer until the socket takes it.
 */
class StunBackPressureTest {
    private static final int FLOOD = 50_000;
    private static final InetSocketAddress SOURCE = new InetSocketAddress("127.0.0.1", 40_000);

    /** A channel whose socket takes no datagram while {@link #full} is set. */
    static final class FullSendBufferChannel extends EmbeddedChannel {
        boolean full = true;

        FullSendBufferChannel(StunResponder responder) {
            super(responder);
        }

        @Override
        protected void doWrite(ChannelOutboundBuffer in) throws Exception {
            if (!full) super.doWrite(in);
        }
    }

    @Test
    void aFloodWhileAnswersCannotLeaveQueuesAtMostTheHighWatermark() throws Exception {
        StunResponder.warmUp();
        StunResponder responder = new StunResponder();
        FullSendBufferChannel ch = new FullSendBufferChannel(responder);
        byte[] request = request();
        long peak = 0;
        for (int i = 0; i < FLOOD; i++) {
            ch.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(request), null, SOURCE));
            peak = Math.max(peak, ch.unsafe().outboundBuffer().totalPendingWriteBytes());
        }
        assertTrue(
                peak <= StunResponder.QUEUE_HIGH + 256,
                "answers queued while the socket took none: " + peak + " bytes");
        assertFalse(ch.isWritable());
        long queued = ch.unsafe().outboundBuffer().size();
        assertEquals(FLOOD - queued, responder.dropped(), "every request not queued is counted");

        // The socket takes datagrams again: the queue drains and requests are answered again.
        ch.full = false;
        ch.flush();
        assertTrue(ch.isWritable());
        assertEquals(queued, ch.outboundMessages().size());
        ch.outboundMessages().forEach(ReferenceCountUtil::release);
        ch.outboundMessages().clear();
        ch.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(request), null, SOURCE));
        DatagramPacket answer = ch.readOutbound();
        assertEquals(SOURCE, answer.recipient());
        byte[] bytes = ByteBufUtil.getBytes(answer.content());
        answer.release();
        assertEquals(
                Message.BINDING_SUCCESS_RESPONSE,
                Message.decode(bytes, 0, bytes.length).getMessageType());
        assertFalse(ch.finish());
    }

    private static byte[] request() throws Exception {
        Request r = MessageFactory.createBindingRequest();
        r.setTransactionID(new byte[12]);
        return r.encode(null);
    }
}
