package dev.appshare.tunnel;

import dev.appshare.net.HostPort;
import dev.appshare.path.PathSwitch;
import dev.appshare.path.RelayPath;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;

/**
 * Everything under one QUIC connection: the UDP channel holding the codec, the path layer, and the
 * relay path. {@link #open} completes once a path can carry datagrams, so the QUIC handshake that
 * follows is never sent into a void.
 */
public final class PathCarrier {
    public static final long RELAY_PAIRING_TIMEOUT_MILLIS = 15_000;

    private final PathSwitch paths;
    private Channel udp;
    private Channel relay;

    private PathCarrier(PathSwitch paths) {
        this.paths = paths;
    }

    public static Future<PathCarrier> open(EventLoop loop, ChannelHandler quicCodec, InetSocketAddress relayAddress,
                                           String token, PathSwitch.Listener listener) {
        Promise<PathCarrier> ready = loop.newPromise();
        PathCarrier c = new PathCarrier(new PathSwitch(listener));
        TunnelSocket.bind(loop, c.paths, quicCodec).addListener((ChannelFutureListener) bound -> {
            if (!bound.isSuccess()) {
                ready.tryFailure(bound.cause());
                return;
            }
            c.udp = bound.channel();
            RelayPath.dial(loop, relayAddress, token, RELAY_PAIRING_TIMEOUT_MILLIS, c.paths).addListener(f -> {
                if (!f.isSuccess()) {
                    c.close();
                    ready.tryFailure(f.cause());
                    return;
                }
                c.relay = (Channel) f.getNow();
                // Attach first: the owner starts QUIC as soon as this future completes.
                c.paths.attachRelay(c.relay, HostPort.format(relayAddress));
                if (!ready.trySuccess(c)) c.close();
            });
        });
        return ready;
    }

    /** The UDP channel the QUIC codec sits on. */
    public Channel udp() {
        return udp;
    }

    public PathSwitch paths() {
        return paths;
    }

    public void close() {
        if (relay != null) relay.close();
        if (udp != null) udp.close();
    }
}
