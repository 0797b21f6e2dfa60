package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.wire.net.EventLoops;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** PathCarrier's lifecycle on a real event loop, a real UDP socket and a loopback "relay". */
class PathCarrierTest {
    private final EventLoopGroup group = EventLoops.newGroup(1);

    @AfterEach
    void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Remembers the tunnel's UDP channel, which the carrier does not hand out once closed. */
    static final class ChannelSeen extends ChannelInboundHandlerAdapter {
        final List<Channel> channels;

        ChannelSeen(List<Channel> channels) {
            this.channels = channels;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            channels.add(ctx.channel());
        }
    }

    @Test
    void closedBeforeItsSocketIsBoundItClosesTheSocketAndNeverDialsTheRelay() throws Exception {
        try (ServerSocket relay = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            List<Channel> sockets = new CopyOnWriteArrayList<>();
            PathOptions options =
                    new PathOptions(
                            Transport.RELAY,
                            List.of(),
                            PathOptions.ICE_TIMEOUT_MILLIS,
                            () -> new ChannelSeen(sockets));
            PathCarrier.Route route =
                    new PathCarrier.Route(
                            new InetSocketAddress(
                                    InetAddress.getLoopbackAddress(), relay.getLocalPort()),
                            "token",
                            null,
                            true,
                            false);
            PathSwitch.Listener listener =
                    new PathSwitch.Listener() {
                        @Override
                        public void pathChanged(String description) {}

                        @Override
                        public void allPathsLost(String why) {}
                    };
            PeerIdentity self = PeerIdentity.generate();
            EventLoop loop = group.next();
            // On the loop, so close() runs before the bind (which the bootstrap queues behind it).
            loop.submit(
                            () ->
                                    PathCarrier.open(
                                                    loop,
                                                    TunnelCodecs.client(
                                                            self, self.fingerprint(), false),
                                                    options,
                                                    route,
                                                    kv -> {},
                                                    listener)
                                            .close())
                    .sync();
            loop.submit(() -> {}).sync(); // the bind and its listener have run

            assertEquals(1, sockets.size(), "one UDP socket was opened");
            Channel udp = sockets.get(0);
            assertFalse(udp.isOpen(), "the carrier was closed: so is its socket");
            relay.setSoTimeout(500);
            assertThrows(
                    SocketTimeoutException.class,
                    relay::accept,
                    "a closed carrier does not dial the relay");
        }
    }
}
