package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.path.Transport;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Many keep-alive HTTP connections at once through one share: the failure the project was born
 * from.
 */
class HttpKeepAliveTest {
    static final int CLIENTS = 50;
    static final int REQUESTS = 20;

    @ParameterizedTest(name = "over {0}")
    @EnumSource(
            value = Transport.class,
            names = {"RELAY", "DIRECT"})
    void fiftyKeepAliveClientsTwentyRequestsEach(Transport transport) throws Exception {
        HttpServer http = TestServers.http();
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try (Lab lab = Lab.with(transport)) {
            String name = lab.share(http.getAddress().getPort()).name();
            Connector c = lab.connect(name);
            int port = c.localAddress().getPort();
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int client = i;
                results.add(pool.submit(() -> runClient(port, client)));
            }
            int ok = 0;
            for (Future<Integer> f : results) ok += f.get(60, TimeUnit.SECONDS);
            assertEquals(CLIENTS * REQUESTS, ok);
        } finally {
            pool.shutdownNow();
            http.stop(0);
        }
    }

    /**
     * One connection, {@link #REQUESTS} requests on it in turn; returns how many came back right.
     */
    static int runClient(int port, int client) throws IOException {
        int ok = 0;
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int r = 0; r < REQUESTS; r++) {
                String path = "/client" + client + "/req" + r;
                out.write(
                        ("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                byte[] body = readResponse(in);
                assertArrayEquals(TestServers.bodyFor(path), body, "body of " + path);
                ok++;
            }
        }
        return ok;
    }

    /** Reads one HTTP/1.1 response with a Content-Length body; returns the body. */
    static byte[] readResponse(InputStream in) throws IOException {
        String status = line(in);
        if (!status.startsWith("HTTP/1.1 200")) throw new IOException("bad status: " + status);
        int length = -1;
        for (String h; !(h = line(in)).isEmpty(); ) {
            if (h.toLowerCase().startsWith("content-length:"))
                length = Integer.parseInt(h.substring(15).trim());
        }
        if (length < 0) throw new IOException("no Content-Length");
        return in.readNBytes(length);
    }

    static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) throw new IOException("connection closed mid-response");
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }
}
