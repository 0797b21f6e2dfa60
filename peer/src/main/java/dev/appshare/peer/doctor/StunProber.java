package dev.appshare.peer.doctor;

import dev.appshare.wire.path.StunAttributes;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.AttributeFactory;
import org.ice4j.attribute.XorMappedAddressAttribute;
import org.ice4j.message.Message;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;

/**
 * One UDP socket asking a STUN server Binding questions (RFC 5389, with RFC 5780's CHANGE-REQUEST
 * and PADDING: {@link StunAttributes}), with retransmissions: each unanswered request is sent again
 * at {@link #RETRANSMIT_MILLIS} after the first send, so one lost datagram costs a retry, not a
 * wrong finding. ice4j encodes and decodes the messages; this class only sends and matches answers
 * to questions by transaction id.
 *
 * <p>Blocking, for a command that runs once: {@code appshare doctor} gives each check its own
 * socket and thread.
 */
final class StunProber implements AutoCloseable {
    /** When, after a request's first send, it is sent again (if still unanswered). */
    static final long[] RETRANSMIT_MILLIS = {200, 600, 1400};

    /** How long a question waits for its answer in all. */
    static final long ANSWER_TIMEOUT_MILLIS = 2_000;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** One question: a Binding request for {@code to}. */
    record Question(InetSocketAddress to, Request request) {}

    /**
     * One answer: the public address the server saw, where the answer came from, the server's other
     * port (OTHER-ADDRESS; -1 if absent), the answer's size, and the round trip of the question's
     * last send.
     */
    record Answer(
            InetSocketAddress mapped,
            InetSocketAddress from,
            int otherPort,
            int size,
            double rttMillis) {}

    private final DatagramSocket socket;
    private final LongSupplier nanoTime;

    /** A socket on {@code local} (an any-address of the family to test, port 0: any). */
    StunProber(InetAddress local) throws IOException {
        this(local, System::nanoTime);
    }

    StunProber(InetAddress local, LongSupplier nanoTime) throws IOException {
        this.socket = new DatagramSocket(new InetSocketAddress(local, 0));
        this.nanoTime = nanoTime;
    }

    int localPort() {
        return socket.getLocalPort();
    }

    /** A Binding request with a fresh transaction id. */
    static Request binding() {
        Request r = MessageFactory.createBindingRequest();
        byte[] tid = new byte[12];
        RANDOM.nextBytes(tid);
        try {
            r.setTransactionID(tid);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return r;
    }

    /** A Binding request the server answers from its other port (filtering). */
    static Request changePort() {
        Request r = binding();
        r.putAttribute(AttributeFactory.createChangeRequestAttribute(false, true));
        return r;
    }

    /** A Binding request of exactly {@code size} bytes (padded; at least the unpadded size). */
    static Request padded(int size) {
        Request r = binding();
        int room = size - r.encode(null).length - StunAttributes.ATTRIBUTE_HEADER;
        if (room >= 0) r.putAttribute(StunAttributes.padding(room));
        return r;
    }

    /**
     * Sends every question, again as {@link #RETRANSMIT_MILLIS} says until answered, and returns
     * the answers by the questions' indexes; one not answered in {@link #ANSWER_TIMEOUT_MILLIS} has
     * none.
     */
    Map<Integer, Answer> ask(List<Question> questions) throws IOException {
        int n = questions.size();
        byte[][] bytes = new byte[n][];
        Map<ByteBuffer, Integer> byTid = new HashMap<>();
        for (int i = 0; i < n; i++) {
            bytes[i] = questions.get(i).request().encode(null);
            byTid.put(ByteBuffer.wrap(questions.get(i).request().getTransactionID()), i);
        }
        long start = nanoTime.getAsLong();
        long[] lastSent = new long[n];
        int[] sends = new int[n];
        Map<Integer, Answer> answers = new HashMap<>();
        byte[] buf = new byte[2048];
        while (answers.size() < n) {
            long elapsed = millisSince(start);
            if (elapsed >= ANSWER_TIMEOUT_MILLIS) break;
            for (int i = 0; i < n; i++) {
                if (answers.containsKey(i)) continue;
                boolean due =
                        sends[i] == 0
                                || (sends[i] <= RETRANSMIT_MILLIS.length
                                        && elapsed >= RETRANSMIT_MILLIS[sends[i] - 1]);
                if (!due) continue;
                lastSent[i] = nanoTime.getAsLong();
                sends[i]++;
                send(bytes[i], questions.get(i).to());
            }
            long next = ANSWER_TIMEOUT_MILLIS;
            for (int i = 0; i < n; i++)
                if (!answers.containsKey(i) && sends[i] <= RETRANSMIT_MILLIS.length)
                    next = Math.min(next, RETRANSMIT_MILLIS[sends[i] - 1]);
            DatagramPacket p = receive(buf, Math.max(1, next - millisSince(start)));
            if (p == null) continue;
            long receivedAt = nanoTime.getAsLong(); // before the decode: its first use loads ice4j
            Message m = decode(p);
            if (m == null || m.getMessageType() != Message.BINDING_SUCCESS_RESPONSE) continue;
            Integer i = byTid.get(ByteBuffer.wrap(m.getTransactionID()));
            if (i == null || answers.containsKey(i)) continue;
            XorMappedAddressAttribute xor =
                    (XorMappedAddressAttribute) m.getAttribute(Attribute.XOR_MAPPED_ADDRESS);
            if (xor == null) continue;
            InetSocketAddress mapped = xor.getAddress(m.getTransactionID());
            answers.put(
                    i,
                    new Answer(
                            new InetSocketAddress(mapped.getAddress(), mapped.getPort()),
                            (InetSocketAddress) p.getSocketAddress(),
                            StunAttributes.otherPort(m),
                            p.getLength(),
                            (receivedAt - lastSent[i]) / 1e6));
        }
        return answers;
    }

    /**
     * Whether a datagram sent to {@code mapped}, this socket's own public address, comes back to it
     * through the NAT (hairpinning, RFC 5780 §4.5): a Binding request is sent there a few times and
     * listened for within {@code millis}.
     */
    boolean hearsItself(InetSocketAddress mapped, long millis) throws IOException {
        Request r = binding();
        byte[] bytes = r.encode(null);
        long start = nanoTime.getAsLong();
        byte[] buf = new byte[2048];
        int sends = 0;
        while (millisSince(start) < millis) {
            if (sends == 0 || millisSince(start) >= sends * millis / 3) {
                send(bytes, mapped);
                sends++;
            }
            DatagramPacket p = receive(buf, Math.max(1, Math.min(millis / 3, 100)));
            Message m = p == null ? null : decode(p);
            if (m != null
                    && m.getMessageType() == Message.BINDING_REQUEST
                    && Arrays.equals(m.getTransactionID(), r.getTransactionID())) return true;
        }
        return false;
    }

    private void send(byte[] bytes, InetSocketAddress to) throws IOException {
        try {
            socket.send(new DatagramPacket(bytes, bytes.length, to));
        } catch (IOException e) {
            // An unreachable network or a refused port (ICMP) is a finding, not a failure: the
            // question stays unanswered. Anything else is the socket's own trouble.
            if (socket.isClosed()) throw e;
        }
    }

    private DatagramPacket receive(byte[] buf, long millis) throws IOException {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, millis));
        try {
            socket.receive(p);
            return p;
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            if (socket.isClosed()) throw e;
            return null; // ICMP port unreachable surfacing as PortUnreachableException
        }
    }

    private static Message decode(DatagramPacket p) {
        try {
            return Message.decode(p.getData(), 0, p.getLength());
        } catch (Exception e) { // ice4j throws StunException and, for some bytes, runtime ones
            return null;
        }
    }

    private long millisSince(long start) {
        return (nanoTime.getAsLong() - start) / 1_000_000;
    }

    /** Questions for one destination, in order. */
    static List<Question> to(InetSocketAddress server, List<Request> requests) {
        List<Question> q = new ArrayList<>();
        for (Request r : requests) q.add(new Question(server, r));
        return q;
    }

    @Override
    public void close() {
        socket.close();
    }
}
