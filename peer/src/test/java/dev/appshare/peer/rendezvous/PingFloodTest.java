package dev.appshare.peer.rendezvous;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.rendezvous.NotARendezvousTest.FakeServer;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A rendezvous that sends PINGs as fast as it can and reads nothing: the peer answers only while
 * its answers are taken, so what it queues stays under netty's write mark. It used to answer every
 * one: about 10 MB of PINGs (9 s) ran a 128 MB `connect` out of heap, with its tunnel up.
 */
class PingFloodTest {
    private static final int PINGS = 2_000_000; // 12 MB, more than loopback's socket buffers hold

    @Test
    void pongsWaitingForAServerThatDoesNotReadStayBounded() throws Exception {
        byte[] ping =
                RendezvousMessage.of(RendezvousProtocol.PING)
                        .encode()
                        .getBytes(StandardCharsets.UTF_8);
        ByteBuffer batch = ByteBuffer.allocate(10_000 * (2 + ping.length));
        for (int i = 0; i < 10_000; i++) batch.putShort((short) ping.length).put(ping);
        CountDownLatch sent = new CountDownLatch(1);
        EventLoopGroup group = EventLoops.newGroup(1);
        try (FakeServer server =
                new FakeServer(
                        s -> {
                            s.setReceiveBufferSize(4096);
                            OutputStream out = s.getOutputStream();
                            for (int i = 0; i < PINGS / 10_000; i++) out.write(batch.array());
                            out.flush();
                            sent.countDown();
                            try {
                                Thread.sleep(30_000); // never reads
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        })) {
            RendezvousClient client =
                    new RendezvousClient(
                            group.next(),
                            server.address(),
                            new RendezvousClient.Handler() {
                                @Override
                                public void connected(RendezvousClient c) {}

                                @Override
                                public void message(RendezvousMessage m) {}

                                @Override
                                public boolean disconnected() {
                                    return false;
                                }

                                @Override
                                public void unreachable(String why) {}
                            },
                            Resolver.JDK);
            client.start();
            assertTrue(sent.await(60, TimeUnit.SECONDS), "the server sent its PINGs");
            Thread.sleep(500); // the last ones read
            long queued = client.loop().submit(client::queuedBytes).get(10, TimeUnit.SECONDS);
            assertTrue(queued < 256 * 1024, queued + " bytes of PONGs queued");
            client.close();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
