package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.appshare.peer.Console;
import dev.appshare.peer.StderrCapture;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.peer.path.Transport;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.EventLoopGroup;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A malicious rendezvous against a waiting {@code connect} (its tunnel was up before), with no
 * share behind it: messages nobody asked for change nothing and are not logged one line each, and
 * the relay token it names is refused unless it has a token's form.
 *
 * <ul>
 *   <li>ACCEPTEDs sent without a CONNECT, each with the first step of a PAKE under a wrong code,
 *       started a PAKE each: one online guess at the code apiece, about ten a second, past the
 *       wrong-code back-off (now: ignored).
 *   <li>A token carrying line breaks would have been written to the relay address it names, after
 *       {@code RELAY }: any text to any address (now: the ACCEPTED is refused before the PAKE).
 *   <li>GONEs of other sessions were logged one INFO line each, ERRORs that answer no CONNECT one
 *       WARN line each (now: debug).
 * </ul>
 */
class HostileRendezvousTest {
    private final SecureRandom rnd = new SecureRandom();
    private final String password = CodeWords.draw(rnd);
    private final List<RendezvousMessage> fromConnector = new CopyOnWriteArrayList<>();
    private final AtomicInteger connects = new AtomicInteger();
    private ServerSocket server;
    private EventLoopGroup group;
    private Connector connector;

    /** What the fake rendezvous does on each CONNECT and each PAKE message of the connector. */
    interface Script {
        void onConnect(DataOutputStream out) throws Exception;

        default void onPake(DataOutputStream out, RendezvousMessage m) throws Exception {}

        default void onEnd(DataOutputStream out, RendezvousMessage m) throws Exception {}
    }

    @AfterEach
    void stop() throws Exception {
        if (connector != null) connector.close();
        if (group != null) group.shutdownGracefully();
        if (server != null) server.close();
    }

    private void start(Script script) throws Exception {
        server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t =
                new Thread(
                        () -> {
                            while (!server.isClosed()) {
                                try (Socket s = server.accept()) {
                                    DataInputStream in = new DataInputStream(s.getInputStream());
                                    DataOutputStream out =
                                            new DataOutputStream(s.getOutputStream());
                                    while (true) {
                                        RendezvousMessage m = ControlProxy.read(in);
                                        fromConnector.add(m);
                                        switch (m.type()) {
                                            case PING ->
                                                    ControlProxy.write(
                                                            out, RendezvousMessage.of(PONG));
                                            case CONNECT -> {
                                                connects.incrementAndGet();
                                                script.onConnect(out);
                                            }
                                            case PAKE -> script.onPake(out, m);
                                            case END -> script.onEnd(out, m);
                                            default -> {}
                                        }
                                    }
                                } catch (Exception e) {
                                    // next connection
                                }
                            }
                        });
        t.setDaemon(true);
        t.start();
        group = EventLoops.newGroup(2);
        connector =
                new Connector(
                        new Connector.Config(
                                new InetSocketAddress(
                                        InetAddress.getLoopbackAddress(), server.getLocalPort()),
                                password + "-2087",
                                new InetSocketAddress("127.0.0.1", 0),
                                TrustLab.paths(Transport.RELAY, null)),
                        group,
                        Console.of(System.out));
        connector.testOnlyWasUpBefore(); // a waiting connector: it keeps asking
        connector.start();
    }

    /** The sessions in which the connector started a PAKE (sent its first step). */
    private Set<String> pakesStarted() {
        Set<String> s = ConcurrentHashMap.newKeySet();
        for (RendezvousMessage m : fromConnector)
            if (m.type().equals(PAKE) && "1".equals(m.get("step"))) s.add(m.get("session"));
        return s;
    }

    /** An ACCEPTED for a new session, then the share's first PAKE step under a wrong code. */
    private void acceptWithWrongCode(
            DataOutputStream out, ConcurrentHashMap<String, PakeExchange> pakes) throws Exception {
        String session = HexFormat.of().toHexDigits(rnd.nextLong());
        byte[] fp = new byte[32];
        rnd.nextBytes(fp);
        String guess;
        do guess = CodeWords.draw(rnd);
        while (guess.equals(password));
        PakeExchange pake =
                new PakeExchange(
                        PakeExchange.Role.SHARE, session, HexFormat.of().formatHex(fp), guess);
        pakes.put(session, pake);
        ControlProxy.write(
                out,
                RendezvousMessage.of(ACCEPTED, "session", session, "token", "tok", "relay", ":1"));
        ControlProxy.write(out, PakeMessages.message(session, 1, pake.start()));
    }

    @Test
    void acceptedsNobodyAskedForStartNoPake() throws Exception {
        ConcurrentHashMap<String, PakeExchange> pakes = new ConcurrentHashMap<>();
        AtomicInteger unasked = new AtomicInteger();
        start(
                new Script() {
                    @Override
                    public void onConnect(DataOutputStream out) throws Exception {
                        acceptWithWrongCode(out, pakes);
                    }

                    @Override
                    public void onPake(DataOutputStream out, RendezvousMessage m) throws Exception {
                        PakeExchange pake = pakes.get(m.get("session"));
                        if (pake == null) return;
                        try {
                            PakeExchange.Next n =
                                    pake.receive(
                                            Integer.parseInt(m.get("step")),
                                            PakeMessages.bytes(m.get("data")));
                            if (n.replyStep() == 2 || n.replyStep() == 3)
                                ControlProxy.write(
                                        out,
                                        PakeMessages.message(
                                                m.get("session"), n.replyStep(), n.reply()));
                        } catch (PakeExchange.FailedException e) {
                            // not reached: the connector checks our confirmation first
                        }
                    }

                    @Override
                    public void onEnd(DataOutputStream out, RendezvousMessage m) throws Exception {
                        // The connector found the code wrong and ended the session: offer it the
                        // next guess at once, unasked.
                        if (unasked.incrementAndGet() <= 20) acceptWithWrongCode(out, pakes);
                    }
                });
        Thread.sleep(3_000);
        assertTrue(connects.get() >= 1, "it asked");
        assertTrue(unasked.get() >= 1, "the rendezvous offered an unasked session");
        assertEquals(
                connects.get(),
                pakesStarted().size(),
                "a PAKE per CONNECT, not per ACCEPTED (" + unasked.get() + " unasked)");
    }

    @Test
    void aRelayTokenThatIsNotOneIsRefusedBeforeThePake() throws Exception {
        try (ServerSocket sink = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            sink.setSoTimeout(3_000);
            String relay = "127.0.0.1:" + sink.getLocalPort();
            try (StderrCapture err = new StderrCapture()) {
                start(
                        out -> {
                            String session = HexFormat.of().toHexDigits(rnd.nextLong());
                            ControlProxy.write(
                                    out,
                                    RendezvousMessage.of(
                                            ACCEPTED,
                                            "session",
                                            session,
                                            "token",
                                            "x\r\nSET pwned yes\r\nQUIT",
                                            "relay",
                                            relay));
                        });
                assertThrows(
                        java.net.SocketTimeoutException.class,
                        () -> sink.accept().close(),
                        "nothing dialled the address the rendezvous named");
                assertTrue(connects.get() >= 1, "it asked");
                assertEquals(Set.of(), pakesStarted(), "no PAKE for it");
                assertTrue(err.text().contains("the relay token is not a relay token"), err.text());
            }
        }
    }

    @Test
    void gonesOfOtherSessionsAndErrorsNobodyAskedForAreNotLoggedEach() throws Exception {
        try (StderrCapture err = new StderrCapture()) {
            start(
                    out -> {
                        // The first ERROR answers the CONNECT; the rest answer nothing.
                        for (int i = 0; i < 300; i++) {
                            ControlProxy.write(
                                    out,
                                    RendezvousMessage.of(
                                            GONE,
                                            "session",
                                            HexFormat.of().toHexDigits(rnd.nextLong())));
                            ControlProxy.write(
                                    out,
                                    RendezvousMessage.of(
                                            ERROR, "code", E_BAD_REQUEST, "message", "flood " + i));
                        }
                    });
            Thread.sleep(1_500);
            assertTrue(connects.get() >= 1, "it asked");
            String text = err.text();
            long left = text.lines().filter(l -> l.contains(" left")).count();
            long refused = text.lines().filter(l -> l.contains("rendezvous refused")).count();
            assertEquals(0, left, text);
            assertTrue(refused <= connects.get(), refused + " lines for " + connects + " CONNECTs");
        }
    }
}
