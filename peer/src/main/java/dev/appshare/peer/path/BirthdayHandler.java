package dev.appshare.peer.path;

import dev.appshare.wire.path.BirthdayProbe;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * On the tunnel's socket, between the STUN demux and the path layer: takes the birthday search's
 * datagrams ({@link BirthdayProbe}) off the socket for the easy side's search, and sends its probes
 * from below the path layer (which would carry them to the peer's path instead). Without a search
 * running, birthday datagrams are dropped here; everything else goes on up.
 */
final class BirthdayHandler extends ChannelInboundHandlerAdapter {
    private ChannelHandlerContext ctx;
    private Consumer<DatagramPacket> search; // null: none running

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof DatagramPacket p && BirthdayProbe.is(p.content())) {
            Consumer<DatagramPacket> s = search;
            if (s != null) s.accept(p);
            else p.release();
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** Hands birthday datagrams to {@code s} (which releases them); null: drop them again. */
    void searching(Consumer<DatagramPacket> s) {
        this.search = s;
    }

    /** Sends a datagram straight from the socket; false once the socket is closed. */
    boolean send(DatagramPacket d) {
        if (ctx == null || !ctx.channel().isActive()) {
            d.release();
            return false;
        }
        ctx.writeAndFlush(d);
        return true;
    }

    io.netty.buffer.ByteBufAllocator localAlloc() {
        return ctx.alloc();
    }

    InetSocketAddress localAddress() {
        return (InetSocketAddress) ctx.channel().localAddress();
    }
}
