package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A cold connect whose TLS identity is still being made when the rendezvous says ACCEPTED: the
 * share starts its PAKE at once, so its first message reaches the connector before the connector
 * can start its own exchange. The message must be kept and used, not dropped: dropped, the exchange
 * failed on the share's next message and the connector asked again 2 s later, a second CONNECT
 * (seen once in CI's MaliciousRendezvousTest on a busy machine). The connector's control connection
 * runs through a transparent proxy that records what passes.
 */
class LateIdentityTest {
    @Test
    void theSharesFirstPakeMessageBeforeTheIdentityIsReadyIsKept() throws Exception {
        try (TrustLab lab = new TrustLab();
                CountingEcho service = new CountingEcho();
                ControlProxy proxy =
                        new ControlProxy(lab.server(), null, ControlProxy.TRANSPARENT)) {
            String code = lab.share(service.port(), null, new Lines()).name();
            Connector connector = lab.relayConnector(proxy.address(), code);
            PeerIdentity identity = PeerIdentity.generate();
            CompletableFuture<PeerIdentity> late = new CompletableFuture<>();
            connector.testOnlyIdentity(late);
            var first = connector.start();

            // the share's first PAKE message has come down to the connector: only then is the
            // connector's identity ready
            assertTrue(
                    Services.eventually(
                            10_000,
                            () ->
                                    proxy.links.size() == 1
                                            && proxy.links.get(0).fromServer.stream()
                                                    .anyMatch(m -> m.type().equals(PAKE))),
                    "the share's PAKE message never came");
            // the proxy notes a message before it writes it on: give the connector a moment to
            // read it (a later read would only let this test pass without the fix, never fail)
            Thread.sleep(300);
            assertFalse(first.isDone());
            late.complete(identity);
            first.get(20, TimeUnit.SECONDS);

            // one CONNECT, one exchange: the early message was not lost
            ControlProxy.Link link = proxy.links.get(0);
            assertEquals(
                    1,
                    link.fromPeer.stream().filter(m -> m.type().equals(CONNECT)).count(),
                    "CONNECTs: " + link.fromPeer.stream().map(RendezvousMessage::type).toList());
            // and the tunnel carries
            try (Socket app = new Socket()) {
                app.connect(connector.localAddress(), 5_000);
                app.setSoTimeout(10_000);
                OutputStream out = app.getOutputStream();
                byte[] hello = "hello".getBytes(StandardCharsets.US_ASCII);
                out.write(hello);
                out.flush();
                InputStream in = app.getInputStream();
                assertArrayEquals(hello, in.readNBytes(hello.length));
            }
        }
    }
}
