package dev.appshare.peer.ice;

import java.net.InetSocketAddress;
import java.util.function.Consumer;
import org.ice4j.AbstractResponseCollector;
import org.ice4j.BaseStunMessageEvent;
import org.ice4j.StunResponseEvent;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.attribute.Attribute;
import org.ice4j.attribute.XorMappedAddressAttribute;
import org.ice4j.message.MessageFactory;
import org.ice4j.message.Request;
import org.ice4j.message.Response;
import org.ice4j.stack.StunStack;
import org.ice4j.stack.TransactionID;

/**
 * Asks the rendezvous's two STUN ports (docs/protocol.md §4), through the agent's STUN stack and so
 * from the tunnel's own socket, which public address each sees: the same one from both is an easy
 * mapping, two different ones a NAT that maps per destination ({@link NatMapping}). The stack
 * retransmits {@value #RETRANSMISSIONS} times, {@value #FIRST_WAIT_MILLIS} ms after the first send
 * and doubling up to {@value #MAX_WAIT_MILLIS} ms (about 2.3 s in all); a port that never answers
 * leaves the mapping UNKNOWN. The result is handed to {@code done} once, on one of ice4j's threads.
 */
final class MappingProbe {
    static final int FIRST_WAIT_MILLIS = 100, MAX_WAIT_MILLIS = 800, RETRANSMISSIONS = 4;

    private final Consumer<NatMapping> done;
    private TransportAddress first, second;
    private int pending = 2;
    private boolean failed;

    private MappingProbe(Consumer<NatMapping> done) {
        this.done = done;
    }

    /**
     * Starts the two questions from {@code through} (a host candidate's address on the tunnel's
     * socket) to {@code stun} and to its host's {@code altPort}.
     */
    static void start(
            StunStack stack,
            TransportAddress through,
            InetSocketAddress stun,
            int altPort,
            Consumer<NatMapping> done) {
        MappingProbe p = new MappingProbe(done);
        p.ask(stack, through, new TransportAddress(stun, Transport.UDP), true);
        p.ask(
                stack,
                through,
                new TransportAddress(stun.getAddress(), altPort, Transport.UDP),
                false);
    }

    private void ask(StunStack stack, TransportAddress through, TransportAddress to, boolean one) {
        Request r = MessageFactory.createBindingRequest();
        try {
            stack.sendRequest(
                    r,
                    to,
                    through,
                    new AbstractResponseCollector() {
                        @Override
                        public void processResponse(StunResponseEvent e) {
                            answered(one, mapped(e));
                        }

                        @Override
                        protected void processFailure(BaseStunMessageEvent e) {
                            answered(one, null);
                        }
                    },
                    TransactionID.createNewTransactionID(),
                    FIRST_WAIT_MILLIS,
                    MAX_WAIT_MILLIS,
                    RETRANSMISSIONS);
        } catch (Exception e) { // the socket is gone, or the stack refused: nothing learned
            answered(one, null);
        }
    }

    private static TransportAddress mapped(StunResponseEvent e) {
        Response r = e.getResponse();
        if (r == null || !r.isSuccessResponse()) return null;
        Attribute a = r.getAttribute(Attribute.XOR_MAPPED_ADDRESS);
        return a instanceof XorMappedAddressAttribute x
                ? x.getAddress(e.getTransactionID().getBytes())
                : null;
    }

    private synchronized void answered(boolean one, TransportAddress mapped) {
        if (pending == 0) return;
        if (mapped == null) failed = true;
        else if (one) first = mapped;
        else second = mapped;
        if (--pending > 0) return;
        done.accept(
                failed
                        ? NatMapping.UNKNOWN
                        : first.equals(second) ? NatMapping.SAME : NatMapping.VARIES);
    }
}
