package dev.appshare.peer.share;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.e2e.Lab;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.path.PathSwitch;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.path.VirtualAddresses;
import dev.appshare.peer.tunnel.PeerIdentity;
import dev.appshare.peer.tunnel.SharedTarget;
import dev.appshare.peer.tunnel.SharedTargets;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.peer.tunnel.TunnelLanes;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One share session against a real QUIC client over the lab's real relay, on loopback. The client
 * is what a connector runs (a PathCarrier with the client codec), sometimes with a wrong key or
 * silenced after its first datagram. The session's handshake deadline is shortened to 1 s.
 */
class SharerSessionTest {
    private static final long DEADLINE_MILLIS = 1_000;
    private static final PathOptions RELAY_ONLY =
            new PathOptions(Transport.RELAY, List.of(), PathOptions.ICE_TIMEOUT_MILLIS, null);

    private Lab lab;
    private ServerSocket target;

    /** The port the session shares: {@link #target}'s unless a test shares another. */
    private InetSocketAddress targetAddress;

    private Thread echo;
    private final PeerIdentity sharerKey = PeerIdentity.generate();
    private final PeerIdentity connectorKey = PeerIdentity.generate();
    private SharerSession session;
    private PathCarrier client;
    private final List<String> clientLost = new CopyOnWriteArrayList<>();
    private final CompletableFuture<String> clientPathLost = new CompletableFuture<>();

    @BeforeEach
    void start() throws Exception {
        lab = new Lab();
        target = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        targetAddress = (InetSocketAddress) target.getLocalSocketAddress();
        echo =
                new Thread(
                        () -> {
                            while (!target.isClosed()) {
                                try (Socket s = target.accept()) {
                                    s.getInputStream().transferTo(s.getOutputStream());
                                } catch (IOException e) {
                                    // closed: the test is over
                                }
                            }
                        });
        echo.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) client.close();
        if (session != null) session.close(null);
        target.close();
        lab.close();
        echo.join(5_000);
    }

    /**
     * Starts the session, which pins {@link #connectorKey}, and a client presenting {@code
     * clientKey}, whose outbound datagrams pass {@code clientFilter} (when set) on their way out.
     */
    EventLoop startSession(PeerIdentity clientKey, ChannelOutboundHandlerAdapter clientFilter)
            throws Exception {
        return startSession(clientKey, clientFilter, DEADLINE_MILLIS);
    }

    /**
     * @param deadlineMillis the session's handshake deadline: short where the test waits for it,
     *     the share's own where a tunnel must come up (a loaded machine may take more than a second
     *     for a JVM's first QUIC handshake)
     */
    EventLoop startSession(
            PeerIdentity clientKey, ChannelOutboundHandlerAdapter clientFilter, long deadlineMillis)
            throws Exception {
        Sharer owner =
                new Sharer(
                        new Sharer.Config(lab.server(), targetAddress, null, RELAY_ONLY),
                        lab.group,
                        lab.console());
        EventLoop loop = lab.group.next();
        String token = lab.tokens.mint(60_000);
        InetSocketAddress relay = new InetSocketAddress("127.0.0.1", lab.relayPort());
        session = new SharerSession(owner, "s1", loop, deadlineMillis);
        loop.submit(
                        () ->
                                session.start(
                                        sharerKey,
                                        connectorKey.fingerprint(),
                                        new PathCarrier.Route(relay, token, null, false, false),
                                        RELAY_ONLY,
                                        SharedTargets.of(
                                                new SharedTarget(targetAddress, Resolver.JDK))))
                .sync();
        client =
                PathCarrier.open(
                        loop,
                        TunnelCodecs.client(clientKey, sharerKey.fingerprint(), false),
                        RELAY_ONLY,
                        new PathCarrier.Route(relay, token, null, true, false),
                        kv -> {},
                        new PathSwitch.Listener() {
                            @Override
                            public void pathChanged(String description) {}

                            @Override
                            public void allPathsLost(String why) {
                                clientLost.add(why);
                                clientPathLost.complete(why);
                            }
                        });
        client.ready().get(10, TimeUnit.SECONDS);
        if (clientFilter != null)
            loop.submit(() -> client.udp().pipeline().addAfter("paths", "filter", clientFilter))
                    .sync();
        return loop;
    }

    CompletableFuture<QuicChannel> connectQuic() {
        return connectQuic(new CompletableFuture<>());
    }

    /** {@code word} completes when the share sends a DATAGRAM on the connection. */
    CompletableFuture<QuicChannel> connectQuic(CompletableFuture<Void> word) {
        CompletableFuture<QuicChannel> up = new CompletableFuture<>();
        QuicChannel.newBootstrap(client.udp())
                .handler(
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ReferenceCountUtil.release(msg);
                                word.complete(null);
                            }
                        })
                .streamHandler(new ChannelInboundHandlerAdapter())
                .localAddress(VirtualAddresses.LOCAL)
                .remoteAddress(VirtualAddresses.REMOTE)
                .connect()
                .addListener(
                        f -> {
                            if (f.isSuccess()) up.complete((QuicChannel) f.getNow());
                            else up.completeExceptionally(f.cause());
                        });
        return up;
    }

    boolean tunnelWasUp(EventLoop loop) throws Exception {
        return loop.submit(() -> session.testOnlyTunnelWasUp()).get(5, TimeUnit.SECONDS);
    }

    /** The client's codec speaks once (its Initial), then every datagram it sends is lost. */
    static final class SilentAfterFirst extends ChannelOutboundHandlerAdapter {
        private boolean sent;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof DatagramPacket && sent) {
                ReferenceCountUtil.release(msg);
                promise.setSuccess();
                return;
            }
            sent |= msg instanceof DatagramPacket;
            ctx.write(msg, promise);
        }
    }

    @Test
    void aConnectorSilentAfterItsInitialIsNotATunnelAndTheDeadlineEndsTheSession()
            throws Exception {
        EventLoop loop = startSession(connectorKey, new SilentAfterFirst());
        connectQuic();
        // The session's end closes its relay connection, and so the client's: all paths lost.
        // Without the deadline, only QUIC's 30 s idle timeout would end it.
        String why = clientPathLost.get(10, TimeUnit.SECONDS);
        assertEquals("the relay connection closed", why);
        assertFalse(tunnelWasUp(loop), "an Initial alone is no tunnel");
    }

    /**
     * The share says so in one line, without a stack trace (nothing on the QUIC connection may
     * leave the handshake's failure to netty's "reached the tail of the pipeline" WARN), and ends
     * the session: it is bound to the connector's key, so it cannot succeed.
     */
    @Test
    void aConnectorWithTheWrongKeyIsNotATunnelAndEndsTheSessionSayingSoInOneLine()
            throws Exception {
        String log;
        try (StderrCapture stderr = new StderrCapture()) {
            EventLoop loop = startSession(PeerIdentity.generate(), null);
            connectQuic();
            clientPathLost.get(10, TimeUnit.SECONDS);
            assertFalse(tunnelWasUp(loop), "the handshake failed on the connector's key");
            log = stderr.text();
        }
        assertFalse(log.contains("reached at the tail of the pipeline"), log);
        assertFalse(log.contains("\tat "), "no stack trace: " + log);
        assertTrue(
                log.contains("session s1: the connector's key does not match: closing"),
                "one line says why: " + log);
    }

    /**
     * The connector's later connections are the tunnel's lanes (TunnelLanes): the share says it
     * took each (a DATAGRAM), and each carries streams to the shared port, up to {@link
     * TunnelLanes#MAX_LANES} connections in all; one more is closed. Neither that refusal nor a
     * lane's end is the session's.
     */
    @Test
    void theConnectorsLanesCarryStreamsUpToTheMostAndNoLaneEndsTheSession() throws Exception {
        EventLoop loop = startSession(connectorKey, null, SharerSession.HANDSHAKE_TIMEOUT_MILLIS);
        QuicChannel tunnel = connectQuic().get(10, TimeUnit.SECONDS);
        assertEquals("one", echo(tunnel, "one"));
        assertTrue(tunnelWasUp(loop), "up at the latest when the share serves a stream");

        List<QuicChannel> lanes = new ArrayList<>();
        for (int i = 1; i < TunnelLanes.MAX_LANES; i++) {
            CompletableFuture<Void> word = new CompletableFuture<>();
            QuicChannel lane = connectQuic(word).get(10, TimeUnit.SECONDS);
            word.get(10, TimeUnit.SECONDS);
            assertEquals("lane " + i, echo(lane, "lane " + i));
            lanes.add(lane);
        }
        // One past the most: closed by the share once its handshake completes (if the client's
        // connect has not already failed on that close), without a word.
        CompletableFuture<Void> noWord = new CompletableFuture<>();
        QuicChannel extra =
                connectQuic(noWord).handle((ch, failed) -> ch).get(10, TimeUnit.SECONDS);
        if (extra != null)
            assertTrue(extra.closeFuture().await(10, TimeUnit.SECONDS), "the share closed it");
        assertFalse(noWord.isDone(), "no word for a refused connection");

        // A lane's end gives its place back (once the share has seen it close, after QUIC's
        // draining period): another one is taken.
        lanes.get(0).close().sync();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (loop.submit(() -> session.testOnlyLanes()).get() == TunnelLanes.MAX_LANES) {
            assertTrue(System.nanoTime() < end, "the share still counts the closed lane");
            Thread.sleep(20);
        }
        CompletableFuture<Void> again = new CompletableFuture<>();
        QuicChannel replacement = connectQuic(again).get(10, TimeUnit.SECONDS);
        again.get(10, TimeUnit.SECONDS);
        assertEquals("replacement", echo(replacement, "replacement"));
        // Whatever the share did with the others, the tunnel carries on: a few exchanges over a
        // second or so, time enough for a wrongly ended session to show.
        for (int i = 0; i < 5; i++) {
            assertEquals("again " + i, echo(tunnel, "again " + i));
            assertEquals("lane again " + i, echo(lanes.get(1), "lane again " + i));
            Thread.sleep(300);
        }
        assertTrue(tunnel.isActive());
        assertTrue(clientLost.isEmpty(), clientLost.toString());

        // The first connection's end is the tunnel's: the share closes the lanes with it.
        tunnel.close().sync();
        for (QuicChannel lane : lanes.subList(1, lanes.size()))
            assertTrue(lane.closeFuture().await(10, TimeUnit.SECONDS), "the lane closed too");
    }

    /**
     * A connector that aborts a stream after its FIN (its client closed: a FIN first, then a failed
     * write) sends an abort notice, and the share resets the stream's connection to the shared
     * service. This client sends the notice alone, without the STOP_SENDING a connector also sends:
     * netty may drop that one (StreamAborts), so the notice must do on its own. The client does not
     * read, so the share's writes stop at the stream's window and nothing else would end it.
     */
    @Test
    void anAbortNoticeAfterTheConnectorsFinResetsTheSharedServicesConnection() throws Exception {
        CompletableFuture<Void> dialed = new CompletableFuture<>();
        CompletableFuture<IOException> streamerSaw = new CompletableFuture<>();
        try (ServerSocket streamer = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread t =
                    new Thread(
                            () -> {
                                // Sends until a write fails; never reads.
                                try (Socket s = streamer.accept()) {
                                    dialed.complete(null);
                                    byte[] chunk = new byte[16 << 10];
                                    while (true) s.getOutputStream().write(chunk);
                                } catch (IOException e) {
                                    streamerSaw.complete(e);
                                }
                            });
            t.setDaemon(true);
            t.start();
            targetAddress = (InetSocketAddress) streamer.getLocalSocketAddress();
            startSession(connectorKey, null, SharerSession.HANDSHAKE_TIMEOUT_MILLIS);
            QuicChannel tunnel = connectQuic().get(10, TimeUnit.SECONDS);
            QuicStreamChannel stream = newStream(tunnel);
            stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {StreamPreamble.OPEN_TCP}))
                    .sync();
            stream.shutdownOutput().sync(); // the client's FIN
            dialed.get(10, TimeUnit.SECONDS); // the share has the stream
            QuicStreamChannel notice = newStream(tunnel);
            notice.writeAndFlush(
                            Unpooled.wrappedBuffer(StreamPreamble.encodeAbort(stream.streamId())))
                    .sync();
            notice.shutdownOutput();
            IOException e = streamerSaw.get(10, TimeUnit.SECONDS);
            assertTrue(
                    e.getMessage().contains("reset") || e.getMessage().contains("Broken pipe"),
                    "the shared service's connection was reset: " + e);
        }
    }

    static QuicStreamChannel newStream(QuicChannel tunnel) throws Exception {
        return tunnel.newStreamBootstrap()
                .type(QuicStreamType.BIDIRECTIONAL)
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter())
                .create()
                .get(10, TimeUnit.SECONDS);
    }

    /** One stream through the tunnel to the echo target: preamble, text, and its echo back. */
    static String echo(QuicChannel tunnel, String text) throws Exception {
        byte[] sent = text.getBytes(StandardCharsets.UTF_8);
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        ByteBuf got = Unpooled.buffer();
        QuicStreamChannel stream =
                tunnel.newStreamBootstrap()
                        .type(QuicStreamType.BIDIRECTIONAL)
                        .handler(
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        ByteBuf b = (ByteBuf) msg;
                                        got.writeBytes(b);
                                        b.release();
                                        if (got.readableBytes() >= sent.length) {
                                            answer.complete(ByteBufUtil.getBytes(got));
                                            ctx.close();
                                        }
                                    }
                                })
                        .create()
                        .get(10, TimeUnit.SECONDS);
        stream.writeAndFlush(Unpooled.buffer().writeByte(StreamPreamble.OPEN_TCP).writeBytes(sent));
        byte[] back = answer.get(10, TimeUnit.SECONDS);
        got.release();
        assertArrayEquals(sent, back);
        return new String(back, StandardCharsets.UTF_8);
    }
}
