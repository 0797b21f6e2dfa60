package dev.appshare.peer.trust;

import static dev.appshare.wire.rendezvous.RendezvousProtocol.*;

import dev.appshare.peer.pake.PakeExchange;
import dev.appshare.peer.pake.PakeMessages;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A bare v2 control client on blocking sockets, from a chosen 127.0.0.x: what a script that guesses
 * codes, or a rendezvous's own client, would be. {@link #attempt} runs one CONNECT and the
 * connector's side of the PAKE with a given password.
 */
final class RawControl implements AutoCloseable {
    /** How one attempt at a share's code ended. */
    enum Outcome {
        /** The share proved the code and confirmed ours: it would now open a tunnel. */
        PROVEN,
        /** The share's confirmation did not check: the password was wrong. */
        WRONG_CODE,
        REFUSED_GUESSES,
        REFUSED_BUSY,
        UNKNOWN_NAME,
        /** Anything else: a broken step, an ERROR, silence. */
        OTHER
    }

    /** The session and relay token the server gave the last attempt, and how it ended. */
    record Attempt(Outcome outcome, String session, String token) {}

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    final String fingerprint;

    RawControl(InetSocketAddress server, InetAddress from) throws IOException {
        socket = new Socket();
        if (from != null) socket.bind(new InetSocketAddress(from, 0));
        socket.connect(server, 5_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
        byte[] fp = new byte[32];
        new SecureRandom().nextBytes(fp);
        fingerprint = HexFormat.of().formatHex(fp);
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    void send(RendezvousMessage m) throws IOException {
        ControlProxy.write(out, m);
    }

    /** The next message other than PING/PONG, or null if none came within the time. */
    RendezvousMessage receive(long timeoutMillis) throws IOException {
        long end = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            long left = (end - System.nanoTime()) / 1_000_000;
            if (left <= 0) return null;
            socket.setSoTimeout((int) left);
            RendezvousMessage m;
            try {
                m = ControlProxy.read(in);
            } catch (SocketTimeoutException e) {
                return null;
            } catch (IOException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            }
            if (m.type().equals(PING)) send(RendezvousMessage.of(PONG));
            else if (!m.type().equals(PONG)) return m;
        }
    }

    /**
     * One CONNECT to {@code name} and the PAKE with {@code password}, to the end: on a wrong code
     * this side's confirmation goes out before it learns the share's does not check, so the share
     * counts the guess. The session is ENDed after, so the connection may ask again.
     */
    Attempt attempt(String name, String password) throws IOException {
        send(RendezvousMessage.of(CONNECT, "v", VERSION, "name", name));
        RendezvousMessage m;
        do m = receive(10_000); // skipping what is left of an earlier session (its SIGNALs)
        while (m != null && !m.type().equals(ACCEPTED) && !m.type().equals(ERROR));
        if (m == null) return new Attempt(Outcome.OTHER, null, null);
        if (m.type().equals(ERROR))
            return new Attempt(
                    E_UNKNOWN_NAME.equals(m.get("code")) ? Outcome.UNKNOWN_NAME : Outcome.OTHER,
                    null,
                    null);
        if (!m.type().equals(ACCEPTED)) return new Attempt(Outcome.OTHER, null, null);
        String session = m.get("session");
        String token = m.get("token");
        try {
            return new Attempt(pake(session, password), session, token);
        } finally {
            send(RendezvousMessage.of(END, "session", session));
        }
    }

    /**
     * The connector's side of the PAKE. Its step 1 goes out when the share's first message came
     * (the steps may cross, so this is what a slow connector does): a refusal then costs this side
     * nothing, which keeps a loop of refused guesses cheap for the test.
     */
    private Outcome pake(String session, String password) throws IOException {
        PakeExchange pake = null;
        while (true) {
            RendezvousMessage m = receive(12_000);
            if (m == null) return Outcome.OTHER;
            if (m.type().equals(ERROR)) throw new IOException("the rendezvous said " + m);
            if (!m.type().equals(PAKE) || !session.equals(m.get("session"))) continue;
            if (m.get("refused") != null)
                return REFUSED_GUESSES.equals(m.get("refused"))
                        ? Outcome.REFUSED_GUESSES
                        : Outcome.REFUSED_BUSY;
            if (pake == null) {
                pake =
                        new PakeExchange(
                                PakeExchange.Role.CONNECTOR, session, fingerprint, password);
                sendPake(session, 1, pake.start());
            }
            PakeExchange.Next next;
            try {
                next =
                        pake.receive(
                                Integer.parseInt(m.get("step")), PakeMessages.bytes(m.get("data")));
            } catch (PakeExchange.FailedException e) {
                return e.wrongCode() ? Outcome.WRONG_CODE : Outcome.OTHER;
            } catch (PakeMessages.MalformedException | RuntimeException e) {
                return Outcome.OTHER;
            }
            if (next.confirmed()) return Outcome.PROVEN;
            sendPake(session, next.replyStep(), next.reply());
        }
    }

    void sendPake(String session, int step, byte[] data) throws IOException {
        send(PakeMessages.message(session, step, data));
    }

    @Override
    public void close() {
        ControlProxy.closeQuietly(socket);
    }
}
