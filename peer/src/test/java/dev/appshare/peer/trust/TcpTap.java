package dev.appshare.peer.trust;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy that records every byte it carries, each direction of each connection on its own (so
 * that nothing read in one direction can split a string written in the other): what an observer on
 * the wire between the peers and a server would see.
 */
final class TcpTap implements AutoCloseable {
    private final ServerSocket listener;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final List<ByteArrayOutputStream> streams = new CopyOnWriteArrayList<>();
    final AtomicLong bytes = new AtomicLong();

    /** Where connections are carried to; set before the first one comes. */
    volatile InetSocketAddress target;

    TcpTap() throws IOException {
        listener = new ServerSocket(0, 100, InetAddress.getByName("127.0.0.1"));
        threads.execute(this::acceptLoop);
    }

    InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", listener.getLocalPort());
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket in = listener.accept();
                Socket out = new Socket();
                out.connect(target, 5_000);
                in.setTcpNoDelay(true);
                out.setTcpNoDelay(true);
                sockets.add(in);
                sockets.add(out);
                threads.execute(() -> pump(in, out));
                threads.execute(() -> pump(out, in));
            } catch (IOException e) {
                if (listener.isClosed()) return;
            }
        }
    }

    private void pump(Socket from, Socket to) {
        ByteArrayOutputStream recorded = new ByteArrayOutputStream();
        streams.add(recorded);
        byte[] buf = new byte[16 << 10];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                synchronized (recorded) {
                    recorded.write(buf, 0, n);
                }
                bytes.addAndGet(n);
                out.write(buf, 0, n);
                out.flush();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            ControlProxy.closeQuietly(from);
            ControlProxy.closeQuietly(to);
        }
    }

    /** Every direction of every connection so far, each as recorded. */
    List<byte[]> recorded() {
        return streams.stream()
                .map(
                        s -> {
                            synchronized (s) {
                                return s.toByteArray();
                            }
                        })
                .toList();
    }

    @Override
    public void close() {
        ControlProxy.closeQuietly(listener);
        sockets.forEach(ControlProxy::closeQuietly);
        threads.shutdownNow();
    }
}
