package dev.appshare.peer.ice;

import java.net.InetAddress;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.ice4j.Transport;
import org.ice4j.TransportAddress;
import org.ice4j.ice.Component;
import org.ice4j.ice.HostCandidate;
import org.ice4j.ice.LocalCandidate;
import org.ice4j.ice.harvest.AbstractCandidateHarvester;
import org.ice4j.socket.IceSocketWrapper;
import org.ice4j.socket.IceUdpSocketWrapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ice4j's host harvester binds sockets of its own and skips loopback; this one offers each host
 * address on the tunnel's existing UDP socket instead, so ICE checks and QUIC share one port. Each
 * candidate's socket is registered with the agent's STUN stack, as ice4j does for its own.
 *
 * <p>ice4j would wrap each socket in a MultiplexingDatagramSocket and hand its STUN stack a
 * filtered MultiplexedDatagramSocket from it: each holds a descriptor of its own (they are
 * DatagramSockets), and the filtered one's close() never releases it, so every session left one
 * behind until a garbage collection found it. {@link IceDemuxHandler} already lets only STUN
 * through to the view, and the STUN stack is its only reader, so the candidate hands the view
 * itself to both.
 */
final class SharedSocketHarvester extends AbstractCandidateHarvester {
    private static final Logger log = LoggerFactory.getLogger(SharedSocketHarvester.class);
    private final IceDemuxHandler demux;
    private final List<InetAddress> addresses;

    SharedSocketHarvester(IceDemuxHandler demux, List<InetAddress> addresses) {
        this.demux = demux;
        this.addresses = addresses;
    }

    @Override
    public boolean isHostHarvester() {
        return true;
    }

    @Override
    public Collection<LocalCandidate> harvest(Component component) {
        List<LocalCandidate> found = new ArrayList<>();
        for (InetAddress a : addresses) {
            IceSocket view = null;
            try {
                view = demux.open(a);
                SharedSocketCandidate c =
                        new SharedSocketCandidate(new IceUdpSocketWrapper(view), component);
                if (!component.addLocalCandidate(c)) {
                    view.close();
                    continue;
                }
                c.getStunStack().addSocket(c.getStunSocket(null));
                found.add(c);
            } catch (SocketException | RuntimeException e) {
                if (view != null) view.close();
                log.debug("no host candidate for {}: {}", a, e.toString());
            }
        }
        return found;
    }

    /** A host candidate whose STUN traffic goes through its own socket, unfiltered. */
    private static final class SharedSocketCandidate extends HostCandidate {
        private final IceSocketWrapper socket;

        SharedSocketCandidate(IceSocketWrapper socket, Component component) {
            super(socket, component, Transport.UDP);
            this.socket = socket;
        }

        /** The view itself: no filtered socket (and no descriptor) on top of it. */
        @Override
        public IceSocketWrapper getStunSocket(TransportAddress serverAddress) {
            return socket;
        }
    }
}
