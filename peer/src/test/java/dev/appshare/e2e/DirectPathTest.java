package dev.appshare.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.connect.Connector;
import dev.appshare.peer.Transport;
import dev.appshare.share.Sharer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The direct path on its own: ICE over the rendezvous, QUIC on the validated 5-tuple. */
class DirectPathTest {
    @Test
    void directOnlyTunnelCarriesAnEcho() throws Exception {
        try (TestServers.Tcp echo = TestServers.echo(); Lab lab = new Lab()) {
            lab.transport = Transport.DIRECT;
            Sharer sharer = lab.share(echo.port());
            Connector c = lab.connect(sharer.name());
            String path = lab.awaitLine("Path: ", 0, 10_000);
            assertTrue(path.startsWith("Path: direct (udp 127.0.0.1:"), path);
            try (Socket s = new Socket("127.0.0.1", c.localAddress().getPort())) {
                s.setSoTimeout(20_000);
                OutputStream out = s.getOutputStream();
                out.write("hello".getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = s.getInputStream();
                assertEquals("hello", new String(in.readNBytes(5), StandardCharsets.UTF_8));
                s.shutdownOutput();
                assertEquals(-1, in.read());
            }
            assertTrue(lab.consoleLines.stream().noneMatch(l -> l.startsWith("Path: relay")), lab.consoleLines.toString());
        }
    }
}
