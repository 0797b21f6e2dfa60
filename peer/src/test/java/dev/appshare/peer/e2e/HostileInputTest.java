package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RegistrationProof;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The rendezvous and the relay take hostile bytes and keep serving everyone else: every bad
 * connection is closed within its handshake timeout, and a real share works afterwards.
 */
class HostileInputTest {

    /** Reads until the server closes; fails if it has not within {@code seconds}. */
    static byte[] closedWithin(Socket s, int seconds) throws IOException {
        s.setSoTimeout(seconds * 1000);
        InputStream in = s.getInputStream();
        try {
            return in.readAllBytes();
        } catch (SocketTimeoutException e) {
            throw new AssertionError(
                    "server did not close the connection within " + seconds + " s");
        } catch (IOException reset) {
            return new byte[0];
        }
    }

    static Socket open(int port) throws IOException {
        return new Socket("127.0.0.1", port);
    }

    static void writeFrame(Socket s, String message) throws IOException {
        byte[] body = message.getBytes(StandardCharsets.UTF_8);
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeShort(body.length);
        out.write(body);
        out.flush();
    }

    static String readFrame(Socket s) throws IOException {
        s.setSoTimeout(5_000);
        DataInputStream in = new DataInputStream(s.getInputStream());
        byte[] body = new byte[in.readUnsignedShort()];
        in.readFully(body);
        return new String(body, StandardCharsets.UTF_8);
    }

    @Test
    void rendezvousSurvivesGarbageOversizedFramesSilenceAndSlowDrip() throws Exception {
        try (Lab lab = new Lab();
                TestServers.Tcp echo = TestServers.echo()) {
            int port = lab.server().getPort();
            // Random bytes.
            try (Socket s = open(port)) {
                byte[] junk = new byte[4096];
                new Random(3).nextBytes(junk);
                s.getOutputStream().write(junk);
                closedWithin(s, 5);
            }
            // A frame claiming 65535 bytes (over the 8 KiB limit): refused before its body arrives.
            try (Socket s = open(port)) {
                s.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, 'R', 'E'});
                String answer = new String(closedWithin(s, 5), StandardCharsets.UTF_8);
                assertTrue(answer.contains("ERROR"), "an ERROR before the close: " + answer);
            }
            // Well-framed nonsense, malformed keys, an old client's REGISTER, a PROVE without a
            // REGISTER, and PAKE or END for sessions this connection never had (no handshake:
            // closed at the handshake timeout).
            for (String line :
                    new String[] {
                        "HELLO there",
                        "REGISTER v=2 key=zz",
                        "REGISTER v=1 fp=" + "ab".repeat(32) + " owner=" + "cd".repeat(16),
                        "CONNECT v=9 name=x",
                        "register lowercase",
                        "REGISTER v=2 key=%%%",
                        "PROVE sig=AAAAAAAAAAAAAAAA",
                        "PAKE session=0123456789abcdef step=1 data=AAAA",
                        "END session=0123456789abcdef"
                    }) {
                try (Socket s = open(port)) {
                    byte[] body = line.getBytes(StandardCharsets.UTF_8);
                    OutputStream out = s.getOutputStream();
                    out.write(new byte[] {0, (byte) body.length});
                    out.write(body);
                    String answer = new String(closedWithin(s, 5), StandardCharsets.UTF_8);
                    assertTrue(answer.contains("ERROR"), line + " -> " + answer);
                }
            }
            // A REGISTER for one key, proven with another's signature: refused, and no name.
            try (Socket s = open(port)) {
                KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
                g.initialize(new ECGenParameterSpec("secp256r1"));
                KeyPair claimed = g.generateKeyPair(), signer = g.generateKeyPair();
                writeFrame(
                        s,
                        "REGISTER v=2 key="
                                + RegistrationProof.encodeKey(claimed.getPublic())
                                + " name=forged-proof");
                String challenge = readFrame(s);
                assertTrue(challenge.startsWith("CHALLENGE nonce="), challenge);
                String nonce = challenge.substring("CHALLENGE nonce=".length());
                writeFrame(s, "PROVE sig=" + RegistrationProof.sign(signer.getPrivate(), nonce));
                String answer = new String(closedWithin(s, 5), StandardCharsets.UTF_8);
                assertTrue(answer.contains("ERROR"), "a forged proof -> " + answer);
                assertNull(lab.rendezvous.registry().lookup("forged-proof"));
            }
            // Half-open: connects and says nothing; and a slow drip, one byte every 300 ms.
            List<Socket> idle = new ArrayList<>();
            for (int i = 0; i < 20; i++) idle.add(open(port));
            try (Socket drip = open(port)) {
                long t0 = System.nanoTime();
                byte[] msg = "\u0000\u0011REGISTER v=2 key=".getBytes(StandardCharsets.ISO_8859_1);
                try {
                    for (byte b : msg) {
                        drip.getOutputStream().write(b);
                        Thread.sleep(300);
                    }
                } catch (IOException closed) {
                    // closed by the server mid-drip: what we want
                }
                closedWithin(drip, 5);
                assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(8));
            }
            for (Socket s : idle) {
                closedWithin(s, 5);
                s.close();
            }
            // After all that, a real share and connect work.
            Connector c = lab.connect(lab.share(echo.port()).name());
            assertEquals(
                    "still here",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "still here"));
        }
    }

    static String relayAnswer(int port, String line) throws IOException {
        try (Socket s = open(port)) {
            s.getOutputStream().write(line.getBytes(StandardCharsets.ISO_8859_1));
            return new String(closedWithin(s, 5), StandardCharsets.US_ASCII).trim();
        }
    }

    @Test
    void relayRefusesBadUnknownForgedAndReusedTokens() throws Exception {
        try (Lab lab = new Lab(null, 2_000); // the relay's own timeout is under test
                TestServers.Tcp echo = TestServers.echo()) {
            int port = lab.relayPort();
            assertEquals("ERR bad-request", relayAnswer(port, "GET / HTTP/1.1\r\n\r\n"));
            assertEquals("ERR bad-token", relayAnswer(port, "RELAY not-a-token\n"));
            // A well-formed token signed with another secret.
            String forged =
                    new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()).mint(60_000);
            assertEquals("ERR bad-token", relayAnswer(port, "RELAY " + forged + "\n"));
            // An expired one.
            assertEquals("ERR bad-token", relayAnswer(port, "RELAY " + lab.tokens.mint(-1) + "\n"));
            // A line far over the limit without a newline.
            byte[] huge = new byte[100_000];
            Arrays.fill(huge, (byte) 'A');
            assertEquals(
                    "ERR bad-request",
                    relayAnswer(port, "RELAY " + new String(huge, StandardCharsets.US_ASCII)));
            // Random bytes.
            byte[] junk = new byte[2048];
            new Random(5).nextBytes(junk);
            relayAnswer(port, new String(junk, StandardCharsets.ISO_8859_1));
            // Silence: closed after the handshake timeout (2 s in the lab).
            try (Socket s = open(port)) {
                assertEquals(
                        "ERR timeout",
                        new String(closedWithin(s, 5), StandardCharsets.US_ASCII).trim());
            }
            // A valid token pairs exactly once; a third connection with it is refused.
            String token = lab.tokens.mint(60_000);
            try (Socket a = open(port);
                    Socket b = open(port)) {
                a.getOutputStream()
                        .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
                b.getOutputStream()
                        .write(("RELAY " + token + "\n").getBytes(StandardCharsets.US_ASCII));
                assertEquals(
                        "OK",
                        new String(a.getInputStream().readNBytes(3), StandardCharsets.US_ASCII)
                                .trim());
                assertEquals(
                        "OK",
                        new String(b.getInputStream().readNBytes(3), StandardCharsets.US_ASCII)
                                .trim());
                assertEquals("ERR spent-token", relayAnswer(port, "RELAY " + token + "\n"));
                // The pair still works.
                a.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                b.setSoTimeout(5000);
                assertEquals('x', b.getInputStream().read());
            }
            // A lone token holder whose partner never comes is dropped, and its token is spent.
            String lonely = lab.tokens.mint(60_000);
            try (Socket s = open(port)) {
                s.getOutputStream()
                        .write(("RELAY " + lonely + "\n").getBytes(StandardCharsets.US_ASCII));
                assertEquals(
                        "ERR timeout",
                        new String(closedWithin(s, 5), StandardCharsets.US_ASCII).trim());
            }
            assertEquals("ERR spent-token", relayAnswer(port, "RELAY " + lonely + "\n"));
            // After all that, a real tunnel over this relay works.
            Connector c = lab.connect(lab.share(echo.port()).name());
            assertEquals(
                    "relay ok",
                    ShareLifecycleTest.echoOnce(c.localAddress().getPort(), "relay ok"));
        }
    }
}
