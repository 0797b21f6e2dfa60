package dev.appshare.peer.ice;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Two {@link IceSession}s on two real UDP sockets on loopback, each one's SIGNALs handed straight
 * to the other (no rendezvous, no STUN server): ICE and nothing else.
 */
final class IcePair implements AutoCloseable {
    private final Side connector;
    private final Side share;

    IcePair(EventLoopGroup group) throws Exception {
        connector = new Side(group, true);
        share = new Side(group, false);
        connector.peer = share;
        share.peer = connector;
    }

    /** Runs ICE on both sides; the selected local address of the connector, or an error. */
    InetSocketAddress negotiate(long timeoutMillis) throws Exception {
        share.ice.start(null);
        connector.ice.start(null);
        return connector.result.get(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws Exception {
        connector.close();
        share.close();
    }

    private static final class Side implements IceSession.Listener {
        final Channel udp;
        final IceSession ice;
        final CompletableFuture<InetSocketAddress> result = new CompletableFuture<>();
        Side peer;

        Side(EventLoopGroup group, boolean controlling) throws Exception {
            IceDemuxHandler demux = new IceDemuxHandler();
            udp =
                    new Bootstrap()
                            .group(group)
                            .channel(EventLoops.datagram())
                            .handler(demux)
                            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                            .sync()
                            .channel();
            ice =
                    IceSession.open(
                            controlling,
                            demux,
                            List.of(InetAddress.getLoopbackAddress()),
                            null,
                            udp.eventLoop(),
                            15_000,
                            kv -> {
                                String[] fields = new String[kv.length + 2];
                                fields[0] = "session";
                                fields[1] = "1";
                                System.arraycopy(kv, 0, fields, 2, kv.length);
                                peer.ice.remote(
                                        RendezvousMessage.of(RendezvousProtocol.SIGNAL, fields));
                            },
                            this,
                            0);
            if (ice == null) throw new IllegalStateException("no free ICE session slot");
        }

        @Override
        public void validated(
                InetSocketAddress local,
                InetSocketAddress remote,
                String localType,
                String remoteType) {
            result.complete(local);
        }

        @Override
        public void failed(String why) {
            result.completeExceptionally(new AssertionError("ICE failed: " + why));
        }

        void close() throws InterruptedException {
            ice.close();
            udp.close().sync();
        }
    }
}
