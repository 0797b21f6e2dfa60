package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.peer.path.Transport;
import dev.appshare.wire.net.EventLoops;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import io.netty.channel.EventLoopGroup;
import java.io.*;
import java.net.*;
import java.security.SecureRandom;
import java.util.*;
import java.util.concurrent.*;
import org.junit.jupiter.api.Test;

/**
 * A connector that waits for its share (its tunnel was up before) meets a share that does not know
 * the code, behind a rendezvous that closes the control connection after each wrong code, as a
 * squatter or a malicious rendezvous would to get guesses faster: the wrong-code back-off (2 s
 * doubled per failure in a row) holds across the reconnects, so it gets no more than one guess per
 * wait. (Without the back-off surviving a reconnect, the connector asked again within the
 * reconnect's 250 ms to 1 s: five CONNECTs in under 9 s.)
 */
class WrongCodeBackoffTest {
    @Test
    void theWrongCodeBackOffHoldsAcrossReconnects() throws Exception {
        SecureRandom rnd = new SecureRandom();
        String password = CodeWords.draw(rnd);
        List<Long> connectTimes = new CopyOnWriteArrayList<>();
        ServerSocket ss = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t =
                new Thread(
                        () -> {
                            while (!ss.isClosed()) {
                                try (Socket s = ss.accept()) {
                                    DataInputStream in = new DataInputStream(s.getInputStream());
                                    DataOutputStream out =
                                            new DataOutputStream(s.getOutputStream());
                                    PakeExchange pake = null;
                                    String session = null;
                                    boolean done = false;
                                    while (!done) {
                                        RendezvousMessage m = ControlProxy.read(in);
                                        switch (m.type()) {
                                            case PING ->
                                                    ControlProxy.write(
                                                            out, RendezvousMessage.of(PONG));
                                            case CONNECT -> {
                                                connectTimes.add(System.nanoTime());
                                                session =
                                                        HexFormat.of().toHexDigits(rnd.nextLong());
                                                byte[] fp = new byte[32];
                                                rnd.nextBytes(fp);
                                                String guess;
                                                do guess = CodeWords.draw(rnd);
                                                while (guess.equals(password));
                                                pake =
                                                        new PakeExchange(
                                                                PakeExchange.Role.SHARE,
                                                                session,
                                                                HexFormat.of().formatHex(fp),
                                                                guess);
                                                ControlProxy.write(
                                                        out,
                                                        RendezvousMessage.of(
                                                                ACCEPTED, "session", session,
                                                                "token", "tok", "relay", ":1"));
                                                ControlProxy.write(
                                                        out, pake(session, 1, pake.start()));
                                            }
                                            case PAKE -> {
                                                int step = Integer.parseInt(m.get("step"));
                                                try {
                                                    PakeExchange.Next n =
                                                            pake.receive(
                                                                    step,
                                                                    PakeMessages.bytes(
                                                                            m.get("data")));
                                                    if (n.replyStep() == 2 || n.replyStep() == 3)
                                                        ControlProxy.write(
                                                                out,
                                                                pake(
                                                                        session,
                                                                        n.replyStep(),
                                                                        n.reply()));
                                                } catch (PakeExchange.FailedException e) {
                                                    Thread.sleep(
                                                            200); // let the connector handle our
                                                    // wrong step 3
                                                    done = true; // then drop the control connection
                                                }
                                            }
                                            // The connector ends the session after the wrong code:
                                            // drop the
                                            // control connection, so that it reconnects at once.
                                            case END -> done = true;
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
        EventLoopGroup group = EventLoops.newGroup(2);
        Connector c =
                new Connector(
                        new Connector.Config(
                                new InetSocketAddress(
                                        InetAddress.getLoopbackAddress(), ss.getLocalPort()),
                                password + "-2087",
                                new InetSocketAddress("127.0.0.1", 0),
                                TrustLab.paths(Transport.RELAY, null)),
                        group,
                        Console.of(System.out));
        c.testOnlyWasUpBefore(); // a waiting connector keeps asking after a wrong code
        c.start();
        try {
            Thread.sleep(12_000);
            // After k wrong codes in a row the connector waits 2 s << k: CONNECTs at about 0, 4
            // and 12 s (8 s after the second): at most 3 within 12 s; without the back-off
            // holding across reconnects, 5 or more.
            assertTrue(connectTimes.size() >= 2, "it keeps asking: " + connectTimes.size());
            assertTrue(connectTimes.size() <= 3, connectTimes.size() + " CONNECTs in 12 s");
            for (int i = 1; i < connectTimes.size(); i++) {
                long gap = (connectTimes.get(i) - connectTimes.get(i - 1)) / 1_000_000;
                long wait = Connector.RETRY_MILLIS << i;
                assertTrue(
                        gap >= wait - 100, "CONNECT " + i + " after " + gap + " ms, not " + wait);
            }
        } finally {
            c.close();
            group.shutdownGracefully();
            ss.close();
        }
    }

    private static RendezvousMessage pake(String session, int step, byte[] data) {
        return PakeMessages.message(session, step, data);
    }
}
