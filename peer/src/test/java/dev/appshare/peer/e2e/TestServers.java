package dev.appshare.peer.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Real servers on loopback for the shared side of the tunnel. */
final class TestServers {
    private TestServers() {}

    /** A TCP server that runs {@code session} on its own thread for each accepted connection. */
    static final class Tcp implements AutoCloseable {
        final ServerSocket socket;
        private final ExecutorService pool = Executors.newCachedThreadPool();

        Tcp(IoConsumer<Socket> session) throws IOException {
            socket = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
            pool.execute(
                    () -> {
                        while (!socket.isClosed()) {
                            try {
                                Socket s = socket.accept();
                                pool.execute(
                                        () -> {
                                            try (s) {
                                                session.accept(s);
                                            } catch (Exception ignored) {
                                                // the test on the other side judges what arrived
                                            }
                                        });
                            } catch (IOException e) {
                                return;
                            }
                        }
                    });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
            pool.shutdownNow();
        }
    }

    interface IoConsumer<T> {
        void accept(T t) throws Exception;
    }

    static Tcp echo() throws IOException {
        return new Tcp(s -> s.getInputStream().transferTo(s.getOutputStream()));
    }

    /**
     * An HTTP/1.1 server (keep-alive) answering GET /anything with a body derived from the path.
     */
    static HttpServer http() throws IOException {
        HttpServer h = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 200);
        h.createContext(
                "/",
                ex -> {
                    byte[] body = bodyFor(ex.getRequestURI().getPath());
                    ex.getResponseHeaders().add("Content-Type", "text/plain");
                    ex.sendResponseHeaders(200, body.length);
                    try (OutputStream o = ex.getResponseBody()) {
                        o.write(body);
                    }
                });
        h.setExecutor(Executors.newFixedThreadPool(16));
        h.start();
        return h;
    }

    static byte[] bodyFor(String path) {
        StringBuilder sb = new StringBuilder();
        int repeat = 1 + Math.abs(path.hashCode() % 200);
        for (int i = 0; i < repeat; i++) sb.append(path).append(' ').append(i).append('\n');
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
