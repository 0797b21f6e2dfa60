package dev.appshare.peer.trust;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.ShareCode;
import dev.appshare.peer.path.Transport;
import dev.appshare.peer.share.GuessLimit;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.trust.Services.CountingEcho;
import dev.appshare.peer.trust.Services.Lines;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * What the network sees of a tunnel: a share and a connector through a real rendezvous and relay,
 * with a tap on everything the rendezvous receives and sends (a recording TCP proxy in front of its
 * control port), on the relay's connections (another in front of the relay, which the rendezvous
 * advertises) and on the direct path (every datagram in and out of both peers' tunnel sockets,
 * PathOptions.testOnlySocketTap). 64 KiB made of a random 32-byte marker go through the tunnel to
 * an echo service and back, over the relay and then over the direct path. The recordings must hold
 * neither the marker nor the code's password words, as text, upper-case, hex or base64 (at each of
 * the three alignments); they must hold more bytes than the plaintext that crossed (the traffic
 * really went through the taps), and the search must find the marker or the words when they do
 * cross in the clear (a control run through the same taps).
 */
class CaptureTest {
    static final int PAYLOAD = 64 << 10;

    @Test
    void theRelayPathCarriesNeitherThePlaintextNorTheWords() throws Exception {
        Capture cap = run(Transport.RELAY);
        assertTrue(
                total(cap.relay) > 2L * PAYLOAD,
                "the relay tap saw " + total(cap.relay) + " bytes");
    }

    @Test
    void theDirectPathCarriesNeitherThePlaintextNorTheWords() throws Exception {
        Capture cap = run(Transport.DIRECT);
        assertTrue(
                total(cap.udp) > 2L * PAYLOAD, "the socket taps saw " + total(cap.udp) + " bytes");
        assertEquals(0, total(cap.relay), "the direct path used the relay");
    }

    /** What the taps recorded in one run. */
    record Capture(List<byte[]> rendezvous, List<byte[]> relay, List<byte[]> udp) {}

    static Capture run(Transport transport) throws Exception {
        byte[] marker = Services.random(32);
        byte[] payload = new byte[PAYLOAD];
        for (int i = 0; i < PAYLOAD; i += marker.length)
            System.arraycopy(marker, 0, payload, i, marker.length);
        UdpRecorder udp = new UdpRecorder();
        try (TcpTap relayTap = new TcpTap();
                TcpTap rendezvousTap = new TcpTap();
                TrustLab lab = new TrustLab("127.0.0.1:" + relayTap.address().getPort(), 5_000);
                CountingEcho echo = new CountingEcho()) {
            relayTap.target = lab.relayAddress();
            rendezvousTap.target = lab.server();
            Sharer share =
                    lab.sharer(
                            rendezvousTap.address(),
                            echo.port(),
                            null,
                            GuessLimit.Limits.DEFAULTS,
                            TrustLab.paths(transport, udp::handler),
                            new Lines());
            String code = share.start().get(20, TimeUnit.SECONDS);
            Connector connector =
                    lab.connector(
                            rendezvousTap.address(),
                            code,
                            TrustLab.paths(transport, udp::handler),
                            new Lines());
            connector.start().get(30, TimeUnit.SECONDS);
            assertArrayEquals(payload, Services.roundTrip(connector.localAddress(), payload));
            assertEquals(PAYLOAD, echo.bytes.get());

            Map<String, byte[]> secrets = secrets(ShareCode.parse(code).password(), marker);
            Capture cap =
                    new Capture(rendezvousTap.recorded(), relayTap.recorded(), udp.recorded());
            List<String> found = new ArrayList<>();
            found.addAll(find("rendezvous", cap.rendezvous(), secrets));
            found.addAll(find("relay", cap.relay(), secrets));
            found.addAll(find("direct", cap.udp(), secrets));
            System.out.printf(
                    "CaptureTest %s: %d secrets looked for in %d bytes at the rendezvous, %d at the"
                            + " relay, %d in %d datagrams%n",
                    transport,
                    secrets.size(),
                    total(cap.rendezvous()),
                    total(cap.relay()),
                    total(cap.udp()),
                    cap.udp().size());
            assertEquals(List.of(), found, "secrets on the wire");
            // the PAKE did cross the rendezvous tap: the capture is of the real exchange
            String control = new String(concat(cap.rendezvous()), StandardCharsets.ISO_8859_1);
            assertTrue(control.contains("PAKE session="), "no PAKE through the tap");
            assertTrue(control.contains("step=3"));

            // control: what crosses these taps in the clear is found
            try (RawControl clear = new RawControl(rendezvousTap.address(), null)) {
                clear.send(
                        RendezvousMessage.of(
                                RendezvousProtocol.CONNECT,
                                "v",
                                RendezvousProtocol.VERSION,
                                "name",
                                ShareCode.parse(code).password()));
                clear.receive(5_000);
            }
            assertFalse(
                    find("rendezvous", rendezvousTap.recorded(), secrets).isEmpty(),
                    "the words sent in the clear were not found");
            relayInTheClear(relayTap.address(), lab, payload);
            assertTrue(
                    find("relay", relayTap.recorded(), secrets).contains("relay: marker"),
                    "the marker sent in the clear through the relay was not found");
            if (transport == Transport.DIRECT) {
                datagramInTheClear(udp, marker);
                assertTrue(
                        find("direct", udp.recorded(), secrets).contains("direct: marker"),
                        "the marker sent in the clear to a tunnel socket was not found");
            }
            return cap;
        }
    }

    /**
     * The marker and the password in every form the test looks for: the bytes of the marker; the
     * password, its words (with the hyphen, so that three letters are not found by chance in random
     * bytes), upper-case, hex; and base64 (standard and URL) of each at each alignment, the run of
     * whole 4-character groups any encoding of a text containing it holds.
     */
    static Map<String, byte[]> secrets(String password, byte[] marker) {
        Map<String, byte[]> s = new LinkedHashMap<>();
        s.put("marker", marker);
        String[] words = password.split("-");
        List<String> texts = List.of(password, words[0] + "-", "-" + words[1]);
        for (String t : texts) {
            s.put("'" + t + "'", ascii(t));
            s.put("'" + t.toUpperCase(Locale.ROOT) + "'", ascii(t.toUpperCase(Locale.ROOT)));
        }
        for (String w : words) if (w.length() >= 5) s.put("'" + w + "'", ascii(w));
        s.put("hex of the password", ascii(HexFormat.of().formatHex(ascii(password))));
        for (String t : List.of(password, words[0], words[1])) {
            for (int skip = 0; skip < 3; skip++) {
                if (t.length() - skip < 6) continue; // two whole groups at least
                byte[] aligned = ascii(t.substring(skip, skip + (t.length() - skip) / 3 * 3));
                s.put(
                        "base64 of '" + t + "' +" + skip,
                        ascii(Base64.getEncoder().encodeToString(aligned)));
                s.put(
                        "base64url of '" + t + "' +" + skip,
                        ascii(Base64.getUrlEncoder().encodeToString(aligned)));
            }
        }
        return s;
    }

    /** Where each secret occurs in the recordings: "WHERE: NAME", once per secret. */
    static List<String> find(String where, List<byte[]> recordings, Map<String, byte[]> secrets) {
        Set<String> found = new java.util.LinkedHashSet<>();
        for (byte[] r : recordings) {
            String hay = new String(r, StandardCharsets.ISO_8859_1);
            for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
                if (hay.contains(new String(e.getValue(), StandardCharsets.ISO_8859_1)))
                    found.add(where + ": " + e.getKey());
            }
        }
        return List.copyOf(found);
    }

    /** Two clients paired by the relay through the tap, the payload from one to the other. */
    static void relayInTheClear(InetSocketAddress relay, TrustLab lab, byte[] payload)
            throws Exception {
        String token = lab.tokens.mint(60_000);
        try (Socket a = new Socket();
                Socket b = new Socket()) {
            a.connect(relay, 5_000);
            b.connect(relay, 5_000);
            a.setSoTimeout(10_000);
            b.setSoTimeout(10_000);
            a.getOutputStream()
                    .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
            b.getOutputStream()
                    .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
            assertEquals("OK", line(a.getInputStream()));
            assertEquals("OK", line(b.getInputStream()));
            a.getOutputStream().write(payload);
            byte[] got = b.getInputStream().readNBytes(payload.length);
            assertArrayEquals(payload, got);
        }
    }

    /** A datagram holding the marker, sent to a socket one of the peers' tunnels sent from. */
    static void datagramInTheClear(UdpRecorder udp, byte[] marker) throws Exception {
        InetSocketAddress socket = udp.sockets.iterator().next();
        InetSocketAddress to =
                socket.getAddress().isAnyLocalAddress()
                        ? new InetSocketAddress("127.0.0.1", socket.getPort())
                        : socket;
        long before = udp.bytes.get();
        try (DatagramSocket s = new DatagramSocket()) {
            s.send(new DatagramPacket(marker, marker.length, to));
        }
        Services.eventually(5_000, () -> udp.bytes.get() > before);
    }

    static String line(InputStream in) throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') b.write(c);
        return b.toString(StandardCharsets.US_ASCII);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static long total(List<byte[]> recordings) {
        return recordings.stream().mapToLong(r -> r.length).sum();
    }

    static byte[] concat(List<byte[]> recordings) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        recordings.forEach(o::writeBytes);
        return o.toByteArray();
    }

    /**
     * Records every datagram a tunnel socket receives or sends (first in its pipeline), and which
     * sockets received.
     */
    static final class UdpRecorder {
        final List<byte[]> datagrams = new CopyOnWriteArrayList<>();

        /** The tunnel sockets that received something. */
        final Set<InetSocketAddress> sockets = java.util.concurrent.ConcurrentHashMap.newKeySet();

        final AtomicLong bytes = new AtomicLong();

        ChannelHandler handler() {
            return new ChannelDuplexHandler() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    if (ctx.channel().localAddress() instanceof InetSocketAddress a) sockets.add(a);
                    record(msg);
                    ctx.fireChannelRead(msg);
                }

                @Override
                public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                    record(msg);
                    ctx.write(msg, promise);
                }
            };
        }

        private void record(Object msg) {
            if (msg instanceof AddressedEnvelope<?, ?> e && e.content() instanceof ByteBuf b) {
                datagrams.add(ByteBufUtil.getBytes(b));
                bytes.addAndGet(b.readableBytes());
            }
        }

        List<byte[]> recorded() {
            return List.copyOf(datagrams);
        }
    }
}
