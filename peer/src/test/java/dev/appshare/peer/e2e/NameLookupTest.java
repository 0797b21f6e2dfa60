package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import dev.appshare.wire.net.Resolver;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Host names (the rendezvous, the relay, share --host) are looked up off the event loops, which
 * carry tunnel traffic, and the shared host once rather than once per stream.
 */
class NameLookupTest {
    private static final String SERVER = "rendezvous.test";
    private static final String SHARED = "shared.test";

    /** Answers every name with 127.0.0.1 (or a scripted answer), noting where it was asked. */
    private static final class RecordingResolver implements Resolver {
        final List<String> names = new CopyOnWriteArrayList<>();
        final List<String> onLoops = new CopyOnWriteArrayList<>();
        final Map<String, Deque<InetAddress>> scripted = new ConcurrentHashMap<>();
        final EventLoopGroup loops;

        RecordingResolver(EventLoopGroup loops) {
            this.loops = loops;
        }

        @Override
        public InetAddress lookup(String host) throws UnknownHostException {
            names.add(host);
            Thread t = Thread.currentThread();
            boolean onLoop = t instanceof FastThreadLocalThread;
            for (EventExecutor e : loops) onLoop |= e.inEventLoop();
            if (onLoop) onLoops.add(host + " on " + t.getName());
            Deque<InetAddress> answers = scripted.get(host);
            InetAddress next = answers == null ? null : answers.poll();
            return next != null ? next : InetAddress.getByName("127.0.0.1");
        }

        long count(String host) {
            return names.stream().filter(host::equals).count();
        }
    }

    private static boolean echoes(int port, String text) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            byte[] sent = text.getBytes(StandardCharsets.UTF_8);
            s.getOutputStream().write(sent);
            return text.equals(
                    new String(s.getInputStream().readNBytes(sent.length), StandardCharsets.UTF_8));
        } catch (IOException reset) {
            return false;
        }
    }

    @Test
    void namesAreLookedUpOffTheLoopsAndTheSharedHostOnceForAllStreams() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.RELAY)) {
            RecordingResolver r = new RecordingResolver(lab.group);
            lab.resolver = r;
            lab.serverName = SERVER;
            Connector c =
                    lab.connect(
                            lab.share(InetSocketAddress.createUnresolved(SHARED, echo.port()), null)
                                    .name());
            int port = c.localAddress().getPort();
            List<Socket> open = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket("127.0.0.1", port);
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(("stream " + i).getBytes(StandardCharsets.UTF_8));
                    open.add(s);
                }
                for (int i = 0; i < open.size(); i++) {
                    String want = "stream " + i;
                    byte[] got = open.get(i).getInputStream().readNBytes(want.length());
                    assertEquals(want, new String(got, StandardCharsets.UTF_8));
                }
            } finally {
                for (Socket s : open) s.close();
            }
            assertEquals(List.of(), r.onLoops, "lookups on an event loop");
            assertEquals(1, r.count(SHARED), "lookups of the shared host for 8 streams");
            // Each peer's control connection and relay path found the server by name.
            assertTrue(r.count(SERVER) >= 4, "lookups of the rendezvous and relay: " + r.names);
        }
    }

    @Test
    void aFailedDialLooksTheSharedHostUpAgain() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = Lab.with(Transport.RELAY)) {
            RecordingResolver r = new RecordingResolver(lab.group);
            // First answer: ::1, where nothing listens on the echo server's port (it is on
            // 127.0.0.1).
            r.scripted.put(SHARED, new ArrayDeque<>(List.of(InetAddress.getByName("::1"))));
            lab.resolver = r;
            Connector c =
                    lab.connect(
                            lab.share(InetSocketAddress.createUnresolved(SHARED, echo.port()), null)
                                    .name());
            int port = c.localAddress().getPort();
            assertEquals(false, echoes(port, "first"), "the first dial goes to ::1 and fails");
            boolean through = false;
            for (int i = 0; i < 50 && !through; i++) {
                through = echoes(port, "again " + i);
                if (!through) Thread.sleep(100);
            }
            assertTrue(through, "a later stream reaches the host's new address");
            assertEquals(2, r.count(SHARED), "the failed dial caused one more lookup");
            assertEquals(List.of(), r.onLoops, "lookups on an event loop");
        }
    }
}
