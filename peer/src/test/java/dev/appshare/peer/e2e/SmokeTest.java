package dev.appshare.peer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.share.Sharer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void writeThenHalfClose() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab()) {
            Sharer sharer = lab.share(echo.port());
            Connector c = lab.connect(sharer.name());
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
                s.shutdownOutput();
                assertEquals(
                        "hello",
                        new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void echoThroughTunnel() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo();
                Lab lab = new Lab()) {
            Sharer sharer = lab.share(echo.port());
            Connector c = lab.connect(sharer.name());
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                s.setSoTimeout(20_000);
                OutputStream out = s.getOutputStream();
                out.write("hello".getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = s.getInputStream();
                assertEquals("hello", new String(in.readNBytes(5), StandardCharsets.UTF_8));
                out.write("world".getBytes(StandardCharsets.UTF_8));
                assertEquals("world", new String(in.readNBytes(5), StandardCharsets.UTF_8));
                s.shutdownOutput();
                assertEquals(-1, in.read());
            }
        }
    }
}
