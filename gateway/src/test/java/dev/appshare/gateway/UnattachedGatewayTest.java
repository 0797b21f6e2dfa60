package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.wire.net.EventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The gateway between {@link PublicGateway#bind} and {@link PublicGateway#attach} (the server is
 * still starting): it says so with a 503, not that the share does not exist.
 */
class UnattachedGatewayTest {
    @Test
    void beforeItIsAttachedVisitorsGet503() throws Exception {
        EventLoopGroup group = EventLoops.newGroup(1);
        try (PublicGateway gateway =
                PublicGateway.bind(
                        new PublicGateway.Options(
                                new InetSocketAddress("127.0.0.1", 0), "localhost"),
                        group)) {
            try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
                s.setSoTimeout(20_000);
                s.getOutputStream()
                        .write(
                                RawHttp.get(
                                        "/",
                                        "abcdefgh2345.localhost:"
                                                + gateway.httpAddress().getPort()));
                RawHttp.Response r = RawHttp.read(new BufferedInputStream(s.getInputStream()));
                assertEquals(503, r.status());
                assertEquals(GatewayPages.BUSY, r.text());
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
