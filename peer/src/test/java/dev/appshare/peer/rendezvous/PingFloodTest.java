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
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * A rendezvous that sends messages as fast as it can and reads nothing: what the peer queues for it
 * stays bounded. PINGs are answered only while the answers are taken (it used to answer every one:
 * about 10 MB of PINGs, 9 s, ran a 128 MB `connect` out of heap, with its tunnel up); messages the
 * owner answers itself (a share refusing INCOMINGs with END) give the connection up past {@link
 * RendezvousClient#MAX_UNREAD_BYTES}.
 */
class PingFloodTest {
    private static final int MESSAGES = 2_000_000; // 12+ MB, more than loopback's buffers hold

    @Test
    void pongsWaitingForAServerThatDoesNotReadStayBounded() throws Exception {
        flood(RendezvousMessage.of(RendezvousProtocol.PING), (c, m) -> {}, 256 * 1024);
    }

    @Test
    void answersTheOwnerSendsToAServerThatDoesNotReadStayBounded() throws Exception {
        flood(
                RendezvousMessage.of(RendezvousProtocol.GONE, "session", "0123456789abcdef"),
                (c, m) ->
                        c.send(
                                RendezvousMessage.of(
                                        RendezvousProtocol.END, "session", m.get("session"))),
                RendezvousClient.MAX_UNREAD_BYTES + 128 * 1024);
    }

    private static void flood(
            RendezvousMessage each,
            BiConsumer<RendezvousClient, RendezvousMessage> answer,
            long bound)
            throws Exception {
        byte[] one = each.encode().getBytes(StandardCharsets.UTF_8);
        ByteBuffer batch = ByteBuffer.allocate(10_000 * (2 + one.length));
        for (int i = 0; i < 10_000; i++) batch.putShort((short) one.length).put(one);
        CountDownLatch sent = new CountDownLatch(1);
        EventLoopGroup group = EventLoops.newGroup(1);
        RendezvousClient[] self = new RendezvousClient[1];
        try (FakeServer server =
                new FakeServer(
                        s -> {
                            s.setReceiveBufferSize(4096);
                            OutputStream out = s.getOutputStream();
                            try {
                                for (int i = 0; i < MESSAGES / 10_000; i++)
                                    out.write(batch.array());
                                out.flush();
                            } finally {
                                sent.countDown(); // all sent, or the peer gave the connection up
                            }
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
                                public void message(RendezvousMessage m) {
                                    answer.accept(self[0], m);
                                }

                                @Override
                                public boolean disconnected() {
                                    return false;
                                }

                                @Override
                                public void unreachable(String why) {}
                            },
                            Resolver.JDK);
            self[0] = client;
            client.start();
            // All sent, or the peer gave the connection up, or both sides wait on each other
            // (each one's buffers full of what the other does not read): what the peer queued
            // is bounded in every case.
            sent.await(20, TimeUnit.SECONDS);
            Thread.sleep(500); // the last ones read
            long queued = client.loop().submit(client::queuedBytes).get(10, TimeUnit.SECONDS);
            assertTrue(queued < bound, queued + " bytes of answers queued");
            client.close();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
