package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * ICE restarts on loopback: the peers offer 127.0.0.1 and ::1; the direct path ICE chose first is
 * cut for good (every datagram of its address family dropped at the connector's socket, STUN too),
 * so the path layer's probes can never revive it. The tunnel moves to the relay, restarts ICE with
 * its signals inside the tunnel, and comes back direct over the other family, with a TCP connection
 * open all along carrying on byte-exact.
 */
class IceRestartTest {
    @Test
    void aDirectPathCutForGoodComesBackDirectOverAnotherPairAfterARestart() throws Exception {
        FamilyCut cut = new FamilyCut();
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.AUTO)) {
            lab.hostAddresses =
                    List.of(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1"));
            lab.connectorTap = () -> cut;
            Connector c = lab.connect(lab.share(echo.port()).name());
            String first = lab.awaitLine("Path: direct", 0, 20_000);
            boolean firstV6 = first.contains("<-> [");
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                s.setSoTimeout(20_000);
                assertEquals("before", echo(s, "before"));
                int at = lab.consoleLines.size();
                cut.family = firstV6 ? Inet6Address.class : Inet4Address.class;
                lab.awaitLine("Path: relay", at, 10_000);
                assertEquals("on the relay", echo(s, "on the relay"));
                // dead after ~1 s, a restart 5 s later, ICE on loopback in about a second
                String again = lab.awaitLine("Path: direct", at, 30_000);
                assertNotEquals(firstV6, again.contains("<-> ["), first + " then " + again);
                assertEquals("after", echo(s, "after"));
                assertTrue(cut.dropped.get() > 0, "the cut dropped the first pair's datagrams");
            }
            assertTrue(
                    lab.consoleLines.stream().noneMatch(l -> l.contains("tunnel up again")),
                    "one tunnel all along: " + lab.consoleLines);
        }
    }

    /** Writes a line and reads its echo on one connection. */
    private static String echo(Socket s, String text) throws Exception {
        byte[] b = (text + "\n").getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(b);
        out.flush();
        byte[] got = new byte[b.length];
        new DataInputStream(s.getInputStream()).readFully(got);
        return new String(got, StandardCharsets.UTF_8).trim();
    }

    /** In front of a tunnel socket: drops every datagram to or from one address family. */
    @ChannelHandler.Sharable
    private static final class FamilyCut extends ChannelDuplexHandler {
        volatile Class<? extends InetAddress> family;
        final AtomicLong dropped = new AtomicLong();

        private boolean cuts(InetAddress a) {
            Class<? extends InetAddress> f = family;
            return f != null && f.isInstance(a);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p && cuts(p.sender().getAddress())) {
                dropped.incrementAndGet();
                ReferenceCountUtil.release(msg);
            } else {
                ctx.fireChannelRead(msg);
            }
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof DatagramPacket p && cuts(p.recipient().getAddress())) {
                dropped.incrementAndGet();
                ReferenceCountUtil.release(msg);
                promise.trySuccess();
            } else {
                ctx.write(msg, promise);
            }
        }
    }
}
