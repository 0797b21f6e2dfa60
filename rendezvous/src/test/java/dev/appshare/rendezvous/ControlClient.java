package dev.appshare.rendezvous;

import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.ProtocolException;
import dev.appshare.wire.rendezvous.RegistrationProof;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;

/**
 * A control connection from a plain socket, for the real-socket tests: frames out, frames in, and
 * the share's v2 handshake (REGISTER key=, the server's CHALLENGE, PROVE sig=) with a real EC P-256
 * key.
 */
final class ControlClient implements AutoCloseable {
    final Socket socket = new Socket();
    final OutputStream out;
    final DataInputStream in;

    /** From 127.0.0.1, with an ordinary receive window. */
    ControlClient(int port) throws IOException {
        this(null, port, false);
    }

    /** From {@code from} (a 127.0.0.0/8 address, to model a host of its own). */
    ControlClient(String from, int port) throws IOException {
        this(from, port, false);
    }

    /**
     * @param from the source address, or null for any
     * @param tinyWindow a 4 KiB receive buffer, so that a peer that does not read stops taking
     *     bytes soon
     */
    ControlClient(String from, int port, boolean tinyWindow) throws IOException {
        if (tinyWindow) socket.setReceiveBufferSize(4096);
        if (from != null) socket.bind(new InetSocketAddress(from, 0));
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(10_000);
        out = socket.getOutputStream();
        in = new DataInputStream(socket.getInputStream());
    }

    void send(String line) throws IOException {
        out.write(frame(line));
    }

    void send(RendezvousMessage m) throws IOException {
        send(m.encode());
    }

    String read() throws IOException {
        byte[] body = new byte[in.readUnsignedShort()];
        in.readFully(body);
        return new String(body, StandardCharsets.UTF_8);
    }

    RendezvousMessage readMessage() throws IOException {
        String line = read();
        try {
            return RendezvousMessage.decode(line);
        } catch (ProtocolException e) {
            throw new AssertionError("the server sent a malformed line: " + line, e);
        }
    }

    /** Sends REGISTER for {@code key} (and {@code name}, if not null); returns the answer. */
    String sendRegister(KeyPair key, String name) throws IOException {
        send(registerLine(key, name));
        return read();
    }

    /** Answers a CHALLENGE line with {@code key}'s PROVE; returns the server's answer. */
    String prove(KeyPair key, String challenge) throws IOException {
        if (!challenge.startsWith(RendezvousProtocol.CHALLENGE + " ")) {
            throw new AssertionError("not a challenge: " + challenge);
        }
        send(proveLine(key, field(challenge, "nonce")));
        return read();
    }

    /**
     * The whole handshake: REGISTER, CHALLENGE, PROVE; returns the server's last answer (REGISTERED
     * name=.. or an ERROR), or the answer to REGISTER if it was not a CHALLENGE.
     */
    String register(KeyPair key, String name) throws IOException {
        String challenge = sendRegister(key, name);
        if (!challenge.startsWith(RendezvousProtocol.CHALLENGE + " ")) return challenge;
        return prove(key, challenge);
    }

    /**
     * True if the server closes (or resets) the connection within the time, false if it stays open
     * and silent; a byte from the server fails the test.
     */
    boolean closedWithin(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            int b = in.read();
            if (b >= 0) throw new AssertionError("the server sent a byte: " + b);
            return true;
        } catch (SocketTimeoutException open) {
            return false;
        } catch (IOException reset) {
            return true;
        } finally {
            if (!socket.isClosed()) socket.setSoTimeout(10_000);
        }
    }

    /** Reads what is left until the server's close; false if it stays open that long. */
    boolean drainedUntilClosedWithin(int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            in.readAllBytes();
            return true;
        } catch (SocketTimeoutException open) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    static KeyPair newKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String registerLine(KeyPair key, String name) {
        return "REGISTER v="
                + RendezvousProtocol.VERSION
                + " key="
                + RegistrationProof.encodeKey(key.getPublic())
                + (name == null ? "" : " name=" + name);
    }

    static String proveLine(KeyPair key, String nonce) {
        return "PROVE sig=" + RegistrationProof.sign(key.getPrivate(), nonce);
    }

    static String connectLine(String name) {
        return "CONNECT v=" + RendezvousProtocol.VERSION + " name=" + name;
    }

    static String field(String line, String key) {
        for (String part : line.split(" ")) {
            if (part.startsWith(key + "=")) return part.substring(key.length() + 1);
        }
        throw new AssertionError("no " + key + " in " + line);
    }

    static byte[] frame(String line) {
        byte[] body = line.getBytes(StandardCharsets.UTF_8);
        byte[] f = new byte[2 + body.length];
        f[0] = (byte) (body.length >> 8);
        f[1] = (byte) body.length;
        System.arraycopy(body, 0, f, 2, body.length);
        return f;
    }

    static byte[] batch(String line, int count) {
        byte[] one = frame(line);
        ByteArrayOutputStream out = new ByteArrayOutputStream(one.length * count);
        for (int i = 0; i < count; i++) out.writeBytes(one);
        return out.toByteArray();
    }

    /**
     * Starts a server on 127.0.0.1, port 0: TCP picks one, UDP (STUN) follows it; that number may
     * be taken on UDP: retry.
     */
    static RendezvousServer startServer(RendezvousServer.Config cfg, EventLoopGroup group)
            throws InterruptedException {
        cfg.listen = new InetSocketAddress("127.0.0.1", 0);
        for (int attempt = 0; ; attempt++) {
            try {
                return new RendezvousServer(
                                cfg, new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()))
                        .start(group);
            } catch (IllegalStateException udpTaken) {
                if (attempt >= 10) throw udpTaken;
            }
        }
    }
}
