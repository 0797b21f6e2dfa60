package dev.appshare.peer.path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.path.PathProbe;
import dev.appshare.wire.relay.RelayDatagrams;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * PathSwitch on an EmbeddedChannel standing in for the tunnel's UDP socket (outbound messages are
 * what the socket would send, inbound ones what it received) and a second one for the relay
 * connection, with the real relay framing and RelayDatagramHandler on it. Time is a mock ticker:
 * the switch's tick and its clock both run on it.
 */
class PathSwitchTest {
    private static final InetSocketAddress SOCKET = new InetSocketAddress("127.0.0.1", 40001);
    private static final InetSocketAddress PEER = new InetSocketAddress("127.0.0.1", 40002);
    private static final InetSocketAddress STRANGER = new InetSocketAddress("127.0.0.1", 40003);
    private static final String RELAY = "relay (via relay.example:7001)";

    static String direct(long rttMillis) {
        return "direct (udp 127.0.0.1:40001 <-> 127.0.0.1:40002, rtt " + rttMillis + " ms)";
    }

    final MockTicker clock = Ticker.newMockTicker();
    final List<String> events = new ArrayList<>();
    final PathSwitch.Listener listener =
            new PathSwitch.Listener() {
                @Override
                public void pathChanged(String description) {
                    events.add("path " + description);
                }

                @Override
                public void allPathsLost(String why) {
                    events.add("lost " + why);
                }
            };
    final List<String> directEvents = new ArrayList<>();

    /** Stands for the QUIC codec: counts the read bursts the switch passes on. */
    static final class ReadBursts extends ChannelInboundHandlerAdapter {
        int count;

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            count++;
            ctx.fireChannelReadComplete();
        }
    }

    PathSwitch paths;
    EmbeddedChannel udp;
    EmbeddedChannel relay;
    final ReadBursts bursts = new ReadBursts();

    void open(boolean acceptDirect) {
        paths = new PathSwitch(listener, acceptDirect);
        udp = EmbeddedChannel.builder().ticker(clock).handlers(paths, bursts).build();
    }

    void attachRelay() {
        relay =
                new EmbeddedChannel(
                        RelayDatagrams.newDecoder(),
                        RelayDatagrams.newEncoder(),
                        new RelayDatagramHandler(paths));
        paths.attachRelay(relay, "relay.example:7001");
    }

    void validated() {
        paths.directValidated(
                SOCKET,
                PEER,
                "host <-> host",
                () -> directEvents.add("alive"),
                why -> directEvents.add("unusable " + why));
    }

    /** Lets time pass in steps of the switch's tick. */
    void advance(long millis) {
        for (long t = 0; t < millis; t += 50) {
            clock.advance(50, TimeUnit.MILLISECONDS);
            udp.runScheduledPendingTasks();
        }
    }

    /** What the UDP socket sent since the last call. */
    List<DatagramPacket> sentOnSocket() {
        List<DatagramPacket> sent = new ArrayList<>();
        for (Object m; (m = udp.readOutbound()) != null; ) sent.add((DatagramPacket) m);
        return sent;
    }

    /** The datagrams the relay connection carried out since the last call, unframed by hand. */
    List<byte[]> sentOnRelay() {
        ByteBuf stream = Unpooled.buffer();
        for (ByteBuf m; (m = relay.readOutbound()) != null; ) {
            stream.writeBytes(m);
            m.release();
        }
        List<byte[]> datagrams = new ArrayList<>();
        while (stream.isReadable()) {
            byte[] d = new byte[stream.readUnsignedShort()];
            stream.readBytes(d);
            datagrams.add(d);
        }
        stream.release();
        return datagrams;
    }

    /** The probes among {@code sent}, checked for shape and destination; others stay in sent. */
    List<Long> probes(List<DatagramPacket> sent) {
        List<Long> nonces = new ArrayList<>();
        for (DatagramPacket p : List.copyOf(sent)) {
            if (PathProbe.type(p.content()) != PathProbe.PROBE) continue;
            assertEquals(PEER, p.recipient());
            assertEquals(PathProbe.PROBE_LENGTH, p.content().readableBytes());
            nonces.add(PathProbe.nonce(p.content()));
            sent.remove(p);
            p.release();
        }
        return nonces;
    }

    void receive(byte type, long nonce, InetSocketAddress from) {
        udp.writeInbound(
                new DatagramPacket(PathProbe.encode(udp.alloc(), type, nonce), SOCKET, from));
    }

    static byte[] quic(int n) {
        byte[] d = new byte[1200];
        d[0] = (byte) 0x40;
        d[1] = (byte) n;
        for (int i = 2; i < d.length; i++) d[i] = (byte) (i * 31 + n);
        return d;
    }

    /**
     * The codec sends one datagram to its virtual peer and flushes; returns its promise. Writes go
     * through the pipeline as the codec's do: EmbeddedChannel.write would run the loop's pending
     * tasks on its way out, hiding whether a promise completed inside the call.
     */
    ChannelPromise codecSends(byte[] datagram) {
        ChannelPromise promise = udp.newPromise();
        udp.pipeline()
                .write(
                        new DatagramPacket(
                                Unpooled.wrappedBuffer(datagram),
                                VirtualAddresses.REMOTE,
                                VirtualAddresses.LOCAL),
                        promise);
        udp.flush();
        return promise;
    }

    static byte[] bytes(DatagramPacket p) {
        try {
            return ByteBufUtil.getBytes(p.content());
        } finally {
            p.release();
        }
    }

    /** Relay attached, direct validated, its first probe answered 20 ms later: ALIVE. */
    void aliveDirect() {
        open(true);
        attachRelay();
        validated();
        udp.runScheduledPendingTasks();
        List<Long> nonces = probes(sentOnSocket());
        assertEquals(1, nonces.size(), "the first probe goes out at once");
        clock.advance(20, TimeUnit.MILLISECONDS);
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        assertEquals(List.of("alive"), directEvents);
        assertEquals(List.of("path " + RELAY, "path " + direct(20)), events);
        events.clear();
    }

    /** From ALIVE, silence (every probe lost) until the relay is announced: DEAD. */
    void deadDirect() {
        aliveDirect();
        for (int i = 0; i < 100 && events.isEmpty(); i++) {
            advance(50);
            probes(sentOnSocket());
        }
        assertEquals(List.of("path " + RELAY), events);
        events.clear();
    }

    /**
     * No relay attached (--transport direct, or a share whose relay is still pairing): direct
     * validated and answered, then traffic while every probe is lost, until the probes back off to
     * DEAD's pace (DOUBT probes every 100 ms, DEAD at most every 500 ms).
     */
    void deadDirectWithoutRelay() {
        open(true);
        validated();
        udp.runScheduledPendingTasks();
        List<Long> nonces = probes(sentOnSocket());
        clock.advance(20, TimeUnit.MILLISECONDS);
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        assertEquals(List.of("path " + direct(20)), events);
        events.clear();
        codecSends(quic(0)); // traffic flows: a probe every 100 ms, all lost from here on
        sentOnSocket().forEach(DatagramPacket::release);
        advance(1_500);
        probes(sentOnSocket());
        advance(1_000);
        assertTrue(probes(sentOnSocket()).size() <= 2, "dead: probes backed off");
        assertTrue(events.isEmpty(), events.toString());
    }

    @AfterEach
    void close() {
        if (udp != null) udp.finishAndReleaseAll();
        if (relay != null) relay.finishAndReleaseAll();
    }

    @Test
    void relayOnlyCarriesEveryDatagramAndCompletesTheWriteWhenTheRelayHasWrittenIt() {
        open(true);
        attachRelay();
        assertEquals(List.of("path " + RELAY), events);

        byte[] d = quic(1);
        ChannelPromise promise = udp.newPromise();
        udp.pipeline()
                .write(
                        new DatagramPacket(
                                Unpooled.wrappedBuffer(d),
                                VirtualAddresses.REMOTE,
                                VirtualAddresses.LOCAL),
                        promise);
        assertFalse(promise.isDone(), "not before the relay has written it");
        udp.flush();
        assertTrue(promise.isSuccess());
        List<byte[]> carried = sentOnRelay();
        assertEquals(1, carried.size());
        assertArrayEquals(d, carried.get(0));
        assertTrue(sentOnSocket().isEmpty(), "nothing on the UDP socket");
    }

    /** A GSO send: three datagrams of one size (the last shorter) in one buffer. */
    ChannelPromise codecSendsSegmented(byte[]... datagrams) {
        ByteBuf all = Unpooled.buffer();
        for (byte[] d : datagrams) all.writeBytes(d);
        ChannelPromise promise = udp.newPromise();
        udp.pipeline()
                .write(
                        new io.netty.channel.epoll.SegmentedDatagramPacket(
                                all, datagrams[0].length, VirtualAddresses.REMOTE),
                        promise);
        udp.flush();
        return promise;
    }

    @Test
    void aSegmentedSendCrossesTheRelayAsOneFramePerDatagram() {
        open(true);
        attachRelay();
        byte[] a = quic(1), b = quic(2), c = java.util.Arrays.copyOf(quic(3), 700);
        ChannelPromise onRelay = codecSendsSegmented(a, b, c);
        assertTrue(onRelay.isSuccess(), "completed when the relay wrote the last one");
        List<byte[]> carried = sentOnRelay();
        assertEquals(3, carried.size(), "one relay frame per datagram");
        assertArrayEquals(a, carried.get(0));
        assertArrayEquals(b, carried.get(1));
        assertArrayEquals(c, carried.get(2));
        assertTrue(sentOnSocket().isEmpty());
    }

    @Test
    void aSegmentedSendOnTheDirectPathStaysOneSend() {
        aliveDirect();
        sentOnSocket().forEach(DatagramPacket::release);
        sentOnRelay();
        byte[] a = quic(1), b = quic(2), c = java.util.Arrays.copyOf(quic(3), 700);
        codecSendsSegmented(a, b, c);
        List<DatagramPacket> sent = sentOnSocket();
        assertEquals(1, sent.size(), "one GSO send on the socket");
        assertTrue(
                sent.get(0) instanceof io.netty.channel.unix.SegmentedDatagramPacket s
                        && s.segmentSize() == a.length,
                "still segmented, same segment size");
        assertEquals(PEER, sent.get(0).recipient());
        byte[] whole = bytes(sent.get(0));
        assertEquals(a.length + b.length + c.length, whole.length);
        assertTrue(sentOnRelay().isEmpty(), "alive: direct only");
    }

    @Test
    void datagramsFromTheRelayReachTheCodecFromTheVirtualPeerWithTheirReadBurst() {
        open(true);
        attachRelay();
        ByteBuf frames = Unpooled.buffer();
        for (int n = 1; n <= 3; n++) frames.writeShort(1200).writeBytes(quic(n));
        relay.writeInbound(frames);
        for (int n = 1; n <= 3; n++) {
            DatagramPacket p = udp.readInbound();
            assertEquals(VirtualAddresses.REMOTE, p.sender());
            assertEquals(VirtualAddresses.LOCAL, p.recipient());
            assertArrayEquals(quic(n), bytes(p));
        }
        assertNull(udp.readInbound());
        assertEquals(1, bursts.count, "the relay's read burst is the codec's");
    }

    @Test
    void aBrokenRelayFrameClosesTheRelayPathAndReportsItLost() {
        open(true);
        attachRelay();
        relay.writeInbound(Unpooled.buffer().writeShort(RelayDatagrams.MAX_DATAGRAM + 1));
        udp.runPendingTasks();
        assertFalse(relay.isOpen());
        assertEquals(List.of("path " + RELAY, "lost the relay connection closed"), events);
        assertNull(udp.readInbound());
    }

    @Test
    void whileProvingTrafficStaysOnTheRelayAndTheFirstAnswerMovesItDirect() {
        open(true);
        attachRelay();
        validated();
        udp.runScheduledPendingTasks();
        List<Long> nonces = probes(sentOnSocket());
        assertEquals(1, nonces.size());

        byte[] early = quic(1);
        codecSends(early);
        assertArrayEquals(early, sentOnRelay().get(0));
        assertTrue(sentOnSocket().isEmpty(), "not direct before an answer");

        advance(100);
        assertEquals(1, probes(sentOnSocket()).size(), "proving: a probe every 100 ms");
        clock.advance(20, TimeUnit.MILLISECONDS);
        receive(PathProbe.ANSWER, nonces.get(0), STRANGER);
        assertTrue(directEvents.isEmpty(), "an answer from another address counts for nothing");
        receive(PathProbe.ANSWER, nonces.get(0) ^ 2, PEER);
        assertTrue(directEvents.isEmpty(), "nor does an answer to no probe of ours");
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        assertEquals(List.of("alive"), directEvents);
        assertEquals("path " + direct(120), events.get(events.size() - 1));

        byte[] late = quic(2);
        ChannelPromise promise = codecSends(late);
        List<DatagramPacket> sent = sentOnSocket();
        assertEquals(1, sent.size());
        assertEquals(PEER, sent.get(0).recipient(), "to the real peer, not the virtual one");
        assertArrayEquals(late, bytes(sent.get(0)));
        assertTrue(promise.isSuccess(), "completed by the socket's write");
        assertTrue(sentOnRelay().isEmpty(), "alive: direct only");
    }

    @Test
    void onlyTheValidatedPeerSpeaksOnTheSocketAndTheCodecSeesItAsTheVirtualPeer() {
        open(true);
        attachRelay();
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(1)), SOCKET, PEER));
        assertNull(udp.readInbound(), "before ICE validated a pair, nothing speaks for the peer");

        validated();
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(2)), SOCKET, PEER));
        DatagramPacket p = udp.readInbound();
        assertEquals(VirtualAddresses.REMOTE, p.sender());
        assertEquals(VirtualAddresses.LOCAL, p.recipient());
        assertArrayEquals(quic(2), bytes(p));

        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(3)), SOCKET, STRANGER));
        udp.writeInbound(
                new DatagramPacket(
                        Unpooled.wrappedBuffer(quic(4)),
                        SOCKET,
                        new InetSocketAddress("127.0.0.2", PEER.getPort())));
        byte[] notQuic = quic(5);
        notQuic[0] = 0x10;
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(notQuic), SOCKET, PEER));
        udp.writeInbound(new DatagramPacket(Unpooled.EMPTY_BUFFER, SOCKET, PEER));
        assertNull(udp.readInbound(), "another port, another host, not QUIC, empty: dropped");
    }

    @Test
    void probesAreAnsweredOnlyFromAndToTheValidatedPeer() {
        open(true);
        receive(PathProbe.PROBE, 77, PEER);
        assertTrue(sentOnSocket().isEmpty(), "no pair validated yet: no answer");

        validated();
        udp.runScheduledPendingTasks();
        assertEquals(1, probes(sentOnSocket()).size(), "our own first probe");
        receive(PathProbe.PROBE, 78, STRANGER);
        assertTrue(sentOnSocket().isEmpty(), "not the validated pair: no answer");
        receive(PathProbe.PROBE, 79, PEER);
        List<DatagramPacket> sent = sentOnSocket();
        assertEquals(1, sent.size());
        DatagramPacket answer = sent.get(0);
        assertEquals(PEER, answer.recipient());
        assertEquals(PathProbe.ANSWER, PathProbe.type(answer.content()));
        assertEquals(79, PathProbe.nonce(answer.content()));
        assertEquals(PathProbe.ANSWER_LENGTH, bytes(answer).length, "never more than was asked");
        assertNull(udp.readInbound(), "probes never reach the codec");
    }

    @Test
    void inDoubtEveryDatagramGoesBothWaysWithoutAnnouncingAChange() {
        aliveDirect();
        codecSends(quic(0)); // traffic flows: a probe every 100 ms
        sentOnSocket().forEach(DatagramPacket::release);
        advance(300); // the probes are lost: 150 ms after the first, doubt
        assertEquals(3, probes(sentOnSocket()).size());
        byte[] d = quic(1);
        ChannelPromise promise = codecSends(d);
        List<DatagramPacket> sent = sentOnSocket();
        assertEquals(1, sent.size());
        assertEquals(PEER, sent.get(0).recipient());
        assertArrayEquals(d, bytes(sent.get(0)));
        assertArrayEquals(d, sentOnRelay().get(0));
        assertTrue(promise.isSuccess());
        assertTrue(events.isEmpty(), "still direct as far as the Path: line goes");
    }

    @Test
    void aDeadPathHandsTrafficToTheRelayAndTwoAnswersInARowBringItBack() {
        deadDirect();
        byte[] d = quic(1);
        codecSends(d);
        assertTrue(sentOnSocket().isEmpty(), "dead: not direct");
        assertArrayEquals(d, sentOnRelay().get(0));

        // Probes go on, backing off; QUIC from the peer still reaches the codec meanwhile.
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(2)), SOCKET, PEER));
        assertArrayEquals(quic(2), bytes(udp.readInbound()));
        List<Long> nonces = new ArrayList<>();
        for (int i = 0; i < 100 && nonces.isEmpty(); i++) {
            advance(50);
            nonces.addAll(probes(sentOnSocket()));
        }
        clock.advance(20, TimeUnit.MILLISECONDS);
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        assertTrue(events.isEmpty(), "one answer is not enough");
        advance(50);
        List<Long> again = probes(sentOnSocket());
        assertEquals(1, again.size(), "asked again at once");
        clock.advance(20, TimeUnit.MILLISECONDS);
        receive(PathProbe.ANSWER, again.get(0), PEER);
        assertEquals(List.of("path " + direct(20)), events, "srtt of 20 ms answers");

        codecSends(quic(3));
        List<DatagramPacket> sent = sentOnSocket();
        assertArrayEquals(quic(3), bytes(sent.get(0)));
        assertTrue(sentOnRelay().isEmpty());
    }

    @Test
    void aDeadDirectPathWithNoRelayKeepsCarryingTheCodecsDatagrams() {
        deadDirectWithoutRelay();
        byte[] d = quic(1);
        ChannelPromise promise = codecSends(d);
        List<DatagramPacket> sent = sentOnSocket();
        assertEquals(1, sent.size(), "the only path left: not dropped");
        assertEquals(PEER, sent.get(0).recipient());
        assertArrayEquals(d, bytes(sent.get(0)));
        assertTrue(promise.isSuccess(), "completed by the socket's write");
        assertTrue(events.isEmpty(), "no relay was ever there to lose");

        attachRelay(); // the relay pairs after all: a dead direct path no longer carries
        assertEquals(List.of("path " + RELAY), events);
        codecSends(quic(2));
        assertTrue(sentOnSocket().isEmpty(), "dead: not direct");
        assertArrayEquals(quic(2), sentOnRelay().get(0));
    }

    @Test
    void theRelayFailingToPairAfterTheDirectPathDiedIsLosingEverything() {
        deadDirectWithoutRelay();
        paths.relayUnavailable();
        assertEquals(
                List.of(
                        "lost the direct path stopped answering and the relay could not be"
                                + " paired"),
                events);
    }

    @Test
    void theRelayFailingToPairWhileDirectIsAliveLosesNothingUntilDirectDies() {
        open(true);
        validated();
        udp.runScheduledPendingTasks();
        List<Long> nonces = probes(sentOnSocket());
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        events.clear();
        paths.relayUnavailable();
        assertTrue(events.isEmpty(), "carrying on over the direct path");
        for (int i = 0; i < 100 && events.isEmpty(); i++) {
            advance(50);
            probes(sentOnSocket());
        }
        assertEquals(
                List.of(
                        "lost the direct path stopped answering and the relay connection is"
                                + " closed"),
                events);
    }

    @Test
    void theRelayClosingWhileDirectIsAliveLosesNothingUntilDirectDiesToo() {
        aliveDirect();
        relay.close();
        udp.runPendingTasks();
        assertTrue(events.isEmpty(), "carrying on over the direct path");
        codecSends(quic(1));
        assertArrayEquals(quic(1), bytes(sentOnSocket().get(0)));

        for (int i = 0; i < 40 && events.isEmpty(); i++) {
            advance(50);
            probes(sentOnSocket());
        }
        assertEquals(
                List.of(
                        "lost the direct path stopped answering and the relay connection is"
                                + " closed"),
                events);
    }

    @Test
    void theRelayClosingWithNoDirectPathIsLosingEverything() {
        open(true);
        attachRelay();
        validated(); // proving: not carrying yet
        relay.close();
        udp.runPendingTasks();
        assertEquals(List.of("path " + RELAY, "lost the relay connection closed"), events);
    }

    @Test
    void aPairThatNeverAnswersIsGivenUpAfterTheProvingLimit() {
        open(true);
        attachRelay();
        validated();
        int sent = 0;
        for (int i = 0; i < 250 && directEvents.isEmpty(); i++) {
            advance(50);
            sent += probes(sentOnSocket()).size();
        }
        assertEquals(1, directEvents.size());
        assertTrue(directEvents.get(0).startsWith("unusable "), directEvents.toString());
        assertTrue(directEvents.get(0).contains("1350-byte probes within 10 s"));
        assertTrue(sent >= 99 && sent <= 101, sent + " probes in 10 s");

        advance(5_000);
        assertTrue(sentOnSocket().isEmpty(), "probing stopped");
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(1)), SOCKET, PEER));
        assertNull(udp.readInbound(), "the given-up pair no longer speaks for the peer");
        codecSends(quic(2));
        assertArrayEquals(quic(2), sentOnRelay().get(0));
    }

    @Test
    void aFullRelayDropsTheDatagramAndCompletesItsWriteLaterAsAFullSocketWould() {
        open(true);
        attachRelay();
        relay.config().setWriteBufferWaterMark(new WriteBufferWaterMark(100, 1000));
        ChannelPromise first = udp.newPromise();
        udp.pipeline()
                .write(
                        new DatagramPacket(
                                Unpooled.wrappedBuffer(quic(1)),
                                VirtualAddresses.REMOTE,
                                VirtualAddresses.LOCAL),
                        first);
        assertFalse(relay.isWritable(), "1200 unflushed bytes are over the high mark");
        ChannelPromise second = udp.newPromise();
        ByteBuf dropped = Unpooled.wrappedBuffer(quic(2));
        udp.pipeline()
                .write(
                        new DatagramPacket(
                                dropped, VirtualAddresses.REMOTE, VirtualAddresses.LOCAL),
                        second);
        assertFalse(second.isDone(), "never inside the codec's write call");
        assertEquals(0, dropped.refCnt(), "the dropped datagram is released");
        udp.runPendingTasks();
        assertTrue(second.isSuccess());
        udp.flush();
        assertTrue(first.isSuccess());
        List<byte[]> carried = sentOnRelay();
        assertEquals(1, carried.size(), "only the first crossed");
        assertArrayEquals(quic(1), carried.get(0));
    }

    @Test
    void withNoPathAtAllTheDatagramIsDroppedAndItsWriteStillCompletes() {
        open(true);
        ChannelPromise promise = udp.newPromise();
        udp.pipeline()
                .write(
                        new DatagramPacket(
                                Unpooled.wrappedBuffer(quic(1)),
                                VirtualAddresses.REMOTE,
                                VirtualAddresses.LOCAL),
                        promise);
        assertFalse(promise.isDone());
        udp.runPendingTasks();
        assertTrue(promise.isSuccess());
        assertTrue(sentOnSocket().isEmpty());
        assertTrue(events.isEmpty());
    }

    @Test
    void relayOnlyTransportIgnoresTheDirectPathEntirely() {
        open(false);
        attachRelay();
        validated();
        advance(1_000);
        assertTrue(sentOnSocket().isEmpty(), "no probes");
        receive(PathProbe.PROBE, 5, PEER);
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(1)), SOCKET, PEER));
        assertTrue(sentOnSocket().isEmpty(), "no answers");
        assertNull(udp.readInbound(), "nothing from the socket reaches the codec");
        codecSends(quic(2));
        assertArrayEquals(quic(2), sentOnRelay().get(0));
        assertTrue(directEvents.isEmpty());
    }

    @Test
    void aDirectPathOnAnotherSocketCarriesTheTunnelFromThatSocketAlone() {
        open(true);
        attachRelay();
        InetSocketAddress otherLocal = new InetSocketAddress("127.0.0.1", 40004);
        EmbeddedChannel other = new EmbeddedChannel(paths.otherSocketHandler());
        paths.directValidated(
                otherLocal,
                PEER,
                "birthday",
                () -> directEvents.add("alive"),
                why -> directEvents.add("unusable " + why),
                other);
        udp.runScheduledPendingTasks();
        assertEquals(List.of(), sentOnSocket(), "nothing leaves from the tunnel's own socket");
        List<DatagramPacket> sent = new ArrayList<>();
        for (Object m; (m = other.readOutbound()) != null; ) sent.add((DatagramPacket) m);
        List<Long> nonces = probes(sent);
        assertEquals(1, nonces.size(), "the probe leaves from the other socket");

        // An answer on the tunnel's own socket, from the right address, is not the path's.
        receive(PathProbe.ANSWER, nonces.get(0), PEER);
        assertEquals(List.of(), directEvents);
        clock.advance(20, TimeUnit.MILLISECONDS);
        other.writeInbound(
                new DatagramPacket(
                        PathProbe.encode(other.alloc(), PathProbe.ANSWER, nonces.get(0)),
                        otherLocal,
                        PEER));
        assertEquals(List.of("alive"), directEvents);
        assertEquals(
                "path direct (udp 127.0.0.1:40004 <-> 127.0.0.1:40002, rtt 20 ms)",
                events.get(events.size() - 1));

        // The codec's datagrams leave from the other socket, and its promise completes.
        ChannelPromise promise = codecSends(quic(1));
        DatagramPacket out = other.readOutbound();
        assertEquals(PEER, out.recipient());
        assertArrayEquals(quic(1), bytes(out));
        assertTrue(promise.isSuccess());
        assertEquals(List.of(), sentOnSocket());

        // QUIC from the peer on the other socket reaches the codec; from a stranger, or on the
        // tunnel's own socket, it does not.
        int burstsBefore = bursts.count;
        other.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(2)), otherLocal, PEER));
        DatagramPacket in = udp.readInbound();
        assertEquals(VirtualAddresses.REMOTE, in.sender());
        assertArrayEquals(quic(2), bytes(in));
        assertEquals(burstsBefore + 1, bursts.count, "the read burst ends at the codec too");
        other.writeInbound(
                new DatagramPacket(Unpooled.wrappedBuffer(quic(3)), otherLocal, STRANGER));
        udp.writeInbound(new DatagramPacket(Unpooled.wrappedBuffer(quic(4)), SOCKET, PEER));
        assertNull(udp.readInbound(), "only the other socket's 5-tuple speaks for the peer");

        // A probe from the peer is answered from the other socket.
        other.writeInbound(
                new DatagramPacket(
                        PathProbe.encode(other.alloc(), PathProbe.PROBE, 77L), otherLocal, PEER));
        DatagramPacket answer = other.readOutbound();
        assertEquals(PathProbe.ANSWER, PathProbe.type(answer.content()));
        assertEquals(77L, PathProbe.nonce(answer.content()));
        answer.release();

        // The switch owns the other socket: the tunnel's close closes it.
        udp.close();
        assertFalse(other.isOpen());
    }
}
