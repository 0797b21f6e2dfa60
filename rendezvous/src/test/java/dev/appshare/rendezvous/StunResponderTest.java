package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.path.StunAttributes;
import dev.appshare.wire.relay.RelayToken;
import io.netty.channel.EventLoopGroup;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.AttributeFactory;
import org.ice4j.attribute.XorMappedAddressAttribute;
import org.ice4j.message.Indication;
import org.ice4j.message.Message;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.ice4j.message.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real rendezvous on loopback, and a plain DatagramSocket speaking STUN to its UDP port. */
class StunResponderTest {
    private static final InetAddress LOOPBACK = loopback();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static EventLoopGroup group;
    private RendezvousServer server;
    private DatagramSocket client;

    @BeforeAll
    static void startGroup() {
        group = EventLoops.newGroup(1);
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() throws Exception {
        // Port 0: TCP picks one, UDP follows it. That number may (rarely) be taken on UDP: try
        // again.
        for (int attempt = 0; ; attempt++) {
            try {
                server = newServer(0).start(group);
                break;
            } catch (IllegalStateException udpTaken) {
                if (attempt >= 5) throw udpTaken;
            }
        }
        client = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
    }

    @AfterEach
    void stop() {
        if (client != null) client.close();
        if (server != null) server.close();
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static RendezvousServer newServer(int port) {
        RendezvousServer.Config cfg = new RendezvousServer.Config();
        cfg.listen = new InetSocketAddress("127.0.0.1", port);
        return new RendezvousServer(
                cfg, new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()));
    }

    @Test
    void stunListensOnTheTcpPortNumber() {
        assertEquals(server.localAddress(), server.stunAddress());
    }

    @Test
    void answersABindingRequestWithTheSendersAddress() throws Exception {
        assertAnswered();
        assertAnswered(); // and again: no state
    }

    @Test
    void dropsEverythingElseAndKeepsAnswering() throws Exception {
        byte[] tid = transactionId();
        byte[] request = request(tid);

        byte[] garbage = new byte[64];
        RANDOM.nextBytes(garbage);
        garbage[0] = (byte) 0xff; // top bits set: not STUN
        send(garbage);
        assertNoReply("garbage");

        send(Arrays.copyOf(request, 10));
        assertNoReply("a truncated header");

        Response response =
                MessageFactory.createBindingResponse(
                        (Request) Message.decode(request, 0, request.length),
                        new TransportAddress(new InetSocketAddress(LOOPBACK, 9), Transport.UDP));
        response.setTransactionID(tid);
        send(response.encode(null));
        assertNoReply("a Binding response");

        Indication indication = MessageFactory.createBindingIndication();
        indication.setTransactionID(transactionId());
        send(indication.encode(null));
        assertNoReply("a Binding indication");

        byte[] rfc3489 =
                new byte[20]; // type 0x0001, length 0, a 16-byte id instead of the magic cookie
        RANDOM.nextBytes(rfc3489);
        rfc3489[0] = 0;
        rfc3489[1] = 1;
        rfc3489[2] = 0;
        rfc3489[3] = 0;
        send(rfc3489);
        assertNoReply("an RFC 3489 request");

        // A well-formed Binding request (ice4j decodes it) that is too large: 2000 bytes, padded
        // with
        // one unknown comprehension-optional attribute.
        byte[] big = Arrays.copyOf(request, 2000);
        putShort(big, 2, big.length - 20);
        putShort(big, request.length, 0x8fff);
        putShort(big, request.length + 2, big.length - request.length - 4);
        assertEquals(Message.BINDING_REQUEST, Message.decode(big, 0, big.length).getMessageType());
        send(big);
        assertNoReply("a 2000-byte request");

        // Binding request headers with one bad attribute: ice4j's decode throws StunException for
        // some
        // and ArrayIndexOutOfBoundsException for others (here a MAPPED-ADDRESS of 4 bytes, not 8 or
        // 20).
        for (int[] attribute :
                new int[][] {{0x0001, 4}, {0x8028, 4}}) { // MAPPED-ADDRESS; FINGERPRINT, bad CRC
            byte[] bad = Arrays.copyOf(request, 28);
            putShort(bad, 2, 8);
            putShort(bad, 20, attribute[0]);
            putShort(bad, 22, attribute[1]);
            send(bad);
            assertNoReply(
                    "a request with a malformed attribute " + Integer.toHexString(attribute[0]));
        }

        byte[] badLength = request.clone();
        putShort(badLength, 2, request.length); // claims 20 more bytes than sent
        send(badLength);
        assertNoReply("a request with a wrong length");

        assertAnswered();
    }

    @Test
    void everyAnswerNamesTheOtherPort() throws Exception {
        InetSocketAddress alt = server.stunAltAddress();
        assertTrue(alt.getPort() != server.stunAddress().getPort(), "two ports");
        Message fromFirst = decode(exchange(request(transactionId()), server.stunAddress()));
        assertEquals(alt.getPort(), StunAttributes.otherPort(fromFirst));
        DatagramPacket p = exchange(request(transactionId()), alt);
        assertEquals(alt, p.getSocketAddress(), "the second port answers from itself");
        assertEquals(server.stunAddress().getPort(), StunAttributes.otherPort(decode(p)));
    }

    @Test
    void aChangePortRequestIsAnsweredFromTheOtherPort() throws Exception {
        Request r = MessageFactory.createBindingRequest();
        r.setTransactionID(transactionId());
        r.putAttribute(AttributeFactory.createChangeRequestAttribute(false, true));
        DatagramPacket p = exchange(r.encode(null), server.stunAddress());
        assertEquals(server.stunAltAddress(), p.getSocketAddress());
        assertArrayEquals(r.getTransactionID(), decode(p).getTransactionID());
        // and the other way round
        r.setTransactionID(transactionId());
        assertEquals(
                server.stunAddress(),
                exchange(r.encode(null), server.stunAltAddress()).getSocketAddress());
    }

    @Test
    void aChangeIpRequestIsNotAnswered() throws Exception {
        Request r = MessageFactory.createBindingRequest();
        r.setTransactionID(transactionId());
        r.putAttribute(AttributeFactory.createChangeRequestAttribute(true, false));
        send(r.encode(null));
        assertNoReply("a change-IP request (one address)");
        assertAnswered();
    }

    @Test
    void aPaddedRequestIsAnsweredAsLargeAndNoLarger() throws Exception {
        for (int size : new int[] {100, 548, 1200, 1472}) {
            Request r = MessageFactory.createBindingRequest();
            r.setTransactionID(transactionId());
            int unpadded = r.encode(null).length;
            r.putAttribute(
                    StunAttributes.padding(size - unpadded - StunAttributes.ATTRIBUTE_HEADER));
            byte[] request = r.encode(null);
            assertEquals(size, request.length);
            DatagramPacket p = exchange(request, server.stunAddress());
            assertTrue(
                    p.getLength() <= size && p.getLength() > size - 4,
                    size + "-byte request, " + p.getLength() + "-byte answer");
            assertArrayEquals(r.getTransactionID(), decode(p).getTransactionID());
        }
        Request r = MessageFactory.createBindingRequest();
        r.setTransactionID(transactionId());
        r.putAttribute(StunAttributes.padding(StunResponder.MAX_REQUEST));
        send(r.encode(null));
        assertNoReply("a padded request over " + StunResponder.MAX_REQUEST + " bytes");
    }

    @Test
    void aTakenSecondPortFailsStartAndReleasesTheOthers() throws Exception {
        try (DatagramSocket squatter = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            RendezvousServer.Config cfg = new RendezvousServer.Config();
            cfg.listen = new InetSocketAddress("127.0.0.1", 0);
            cfg.stunAltPort = squatter.getLocalPort();
            RendezvousServer other =
                    new RendezvousServer(
                            cfg, new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()));
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> other.start(group));
            // Worded so that the CLI does not take it for the TCP port (its "in use" wording),
            // whichever transport failed the bind (NIO's BindException, epoll's native error).
            assertEquals(
                    "udp 127.0.0.1:"
                            + squatter.getLocalPort()
                            + " (second STUN port) is already taken",
                    e.getMessage());
        }
    }

    private DatagramPacket exchange(byte[] request, InetSocketAddress to) throws Exception {
        client.send(new DatagramPacket(request, request.length, to));
        client.setSoTimeout(5_000);
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        client.receive(p);
        return p;
    }

    private static Message decode(DatagramPacket p) throws Exception {
        return Message.decode(Arrays.copyOf(p.getData(), p.getLength()), 0, p.getLength());
    }

    @Test
    void closeFreesTheUdpPort() throws Exception {
        int port = server.stunAddress().getPort();
        server.close();
        server = null;
        eventuallyBinds(
                () -> {
                    new DatagramSocket(new InetSocketAddress(LOOPBACK, port))
                            .close(); // no SO_REUSEADDR
                    return null;
                });
    }

    /**
     * The port must come free. NIO closes a registered channel's descriptor only when its selector
     * next runs, so allow it a moment, as Lab does for restarts.
     */
    private static void eventuallyBinds(Callable<?> bind) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                bind.call();
                return;
            } catch (BindException stillTaken) {
                if (attempt >= 50) throw stillTaken;
                Thread.sleep(100);
            }
        }
    }

    @Test
    void aTakenUdpPortFailsStartAndReleasesTcp() throws Exception {
        try (DatagramSocket squatter = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            int port = squatter.getLocalPort();
            RendezvousServer other = newServer(port);
            IllegalStateException e =
                    assertThrows(IllegalStateException.class, () -> other.start(group));
            assertTrue(
                    e.getMessage().contains("udp 127.0.0.1:" + port + " (STUN)"), e.getMessage());
            eventuallyBinds(
                    () -> { // the TCP port was given back
                        new ServerSocket(port, 1, LOOPBACK).close();
                        return null;
                    });
        }
    }

    private void assertAnswered() throws Exception {
        byte[] tid = transactionId();
        send(request(tid));
        client.setSoTimeout(5_000);
        DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
        client.receive(p);
        assertEquals(server.stunAddress(), p.getSocketAddress());
        assertTrue(p.getLength() <= 64, "small answer, got " + p.getLength() + " bytes");
        Message m = Message.decode(Arrays.copyOf(p.getData(), p.getLength()), 0, p.getLength());
        assertEquals(Message.BINDING_SUCCESS_RESPONSE, m.getMessageType());
        assertArrayEquals(tid, m.getTransactionID());
        XorMappedAddressAttribute xor =
                (XorMappedAddressAttribute) m.getAttribute(Attribute.XOR_MAPPED_ADDRESS);
        assertNotNull(xor, "XOR-MAPPED-ADDRESS");
        TransportAddress mapped = xor.getAddress(tid);
        assertEquals(client.getLocalAddress(), mapped.getAddress());
        assertEquals(client.getLocalPort(), mapped.getPort());
    }

    private void assertNoReply(String what) throws Exception {
        client.setSoTimeout(300);
        DatagramPacket p = new DatagramPacket(new byte[1500], 1500);
        assertThrows(SocketTimeoutException.class, () -> client.receive(p), "no answer to " + what);
    }

    private static byte[] request(byte[] tid) throws Exception {
        Request r = MessageFactory.createBindingRequest();
        r.setTransactionID(tid);
        return r.encode(null);
    }

    private static byte[] transactionId() {
        byte[] tid = new byte[12];
        RANDOM.nextBytes(tid);
        return tid;
    }

    private void send(byte[] bytes) throws Exception {
        client.send(new DatagramPacket(bytes, bytes.length, server.stunAddress()));
    }

    private static void putShort(byte[] b, int at, int v) {
        b[at] = (byte) (v >> 8);
        b[at + 1] = (byte) v;
    }
}
