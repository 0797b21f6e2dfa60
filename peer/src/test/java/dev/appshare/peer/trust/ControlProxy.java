package dev.appshare.peer.trust;

import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A man in the middle of the control protocol: peers connect here as if to the rendezvous, and each
 * connection is carried to the real server, frame by frame ({@link RendezvousFrames}: u16 length,
 * one {@link RendezvousMessage}), through {@link Rules} that may pass, change, drop or add messages
 * in either direction, or answer a peer itself. The outgoing connection may be bound to another
 * 127.0.0.x, so the server sees the peer there. Blocking sockets, two threads a link.
 */
final class ControlProxy implements AutoCloseable {
    /** What the proxy does with each message; called on the link's thread for that direction. */
    interface Rules {
        /** A message from the peer to the server: what to pass on instead. */
        default List<RendezvousMessage> up(Link link, RendezvousMessage m) throws IOException {
            return List.of(m);
        }

        /** A message from the server to the peer: what to pass on instead. */
        default List<RendezvousMessage> down(Link link, RendezvousMessage m) throws IOException {
            return List.of(m);
        }
    }

    /** Passes everything as it is. */
    static final Rules TRANSPARENT = new Rules() {};

    /** One peer's control connection, and the proxy's to the server for it. */
    final class Link {
        final Socket peer;
        final Socket server;
        private final DataOutputStream toPeer;
        private final DataOutputStream toServer;

        /** What the peer sent and what the server sent, before the rules. */
        final List<RendezvousMessage> fromPeer = new CopyOnWriteArrayList<>();

        final List<RendezvousMessage> fromServer = new CopyOnWriteArrayList<>();

        Link(Socket peer, Socket server) throws IOException {
            this.peer = peer;
            this.server = server;
            this.toPeer = new DataOutputStream(peer.getOutputStream());
            this.toServer = new DataOutputStream(server.getOutputStream());
        }

        void toPeer(RendezvousMessage m) throws IOException {
            write(toPeer, m);
        }

        void toServer(RendezvousMessage m) throws IOException {
            write(toServer, m);
        }

        void close() {
            closeQuietly(peer);
            closeQuietly(server);
        }

        boolean isOpen() {
            return !peer.isClosed() && !server.isClosed();
        }
    }

    private final InetSocketAddress target;
    private final InetAddress bindFrom;
    private final Rules rules;
    private final ServerSocket listener;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    final List<Link> links = new CopyOnWriteArrayList<>();

    /** While set, connections are accepted and closed at once: the rendezvous is unreachable. */
    volatile boolean refusing;

    /**
     * @param bindFrom the address the server sees the peers' connections come from (null: any)
     */
    ControlProxy(InetSocketAddress target, InetAddress bindFrom, Rules rules) throws IOException {
        this.target = target;
        this.bindFrom = bindFrom;
        this.rules = rules;
        this.listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        threads.execute(this::acceptLoop);
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", listener.getLocalPort());
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            Socket peer;
            try {
                peer = listener.accept();
            } catch (IOException e) {
                return;
            }
            if (refusing) {
                closeQuietly(peer);
                continue;
            }
            try {
                Socket server = new Socket();
                if (bindFrom != null) server.bind(new InetSocketAddress(bindFrom, 0));
                server.connect(target, 5_000);
                peer.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                Link link = new Link(peer, server);
                links.add(link);
                threads.execute(() -> pump(link, true));
                threads.execute(() -> pump(link, false));
            } catch (IOException e) {
                closeQuietly(peer);
            }
        }
    }

    private void pump(Link link, boolean up) {
        try {
            DataInputStream in =
                    new DataInputStream((up ? link.peer : link.server).getInputStream());
            while (true) {
                RendezvousMessage m = read(in);
                (up ? link.fromPeer : link.fromServer).add(m);
                List<RendezvousMessage> out = up ? rules.up(link, m) : rules.down(link, m);
                for (RendezvousMessage o : out) {
                    if (up) link.toServer(o);
                    else link.toPeer(o);
                }
            }
        } catch (Exception e) {
            // end of stream, a closed socket or a message that does not parse: the link is over
        } finally {
            link.close();
        }
    }

    /** Closes every link open now: to the server, each peer's connection dropped. */
    void dropAll() {
        for (Link l : links) l.close();
    }

    static RendezvousMessage read(DataInputStream in) throws Exception {
        int len = in.readUnsignedShort();
        if (len > RendezvousFrames.MAX_FRAME) throw new IOException("frame too long");
        byte[] body = new byte[len];
        in.readFully(body);
        return RendezvousMessage.decode(new String(body, StandardCharsets.UTF_8));
    }

    static void write(DataOutputStream out, RendezvousMessage m) throws IOException {
        byte[] body = m.encode().getBytes(StandardCharsets.UTF_8);
        synchronized (out) {
            out.writeShort(body.length);
            out.write(body);
            out.flush();
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    /** A message with one field set to another value (the others kept, in order). */
    static RendezvousMessage with(RendezvousMessage m, String key, String value) {
        List<String> kv = new java.util.ArrayList<>();
        boolean set = false;
        for (var e : m.fields().entrySet()) {
            kv.add(e.getKey());
            if (e.getKey().equals(key)) {
                kv.add(value);
                set = true;
            } else {
                kv.add(e.getValue());
            }
        }
        if (!set) {
            kv.add(key);
            kv.add(value);
        }
        return RendezvousMessage.of(m.type(), kv.toArray(new String[0]));
    }

    @Override
    public void close() {
        closeQuietly(listener);
        dropAll();
        threads.shutdownNow();
    }
}
