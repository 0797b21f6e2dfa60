package dev.appshare.rendezvous;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A control connection gets {@link RendezvousHandler#PING_BURST} PONGs at once and then one per
 * second: a peer's heartbeat (one PING per 15 s) is always answered, a PING flood is closed with
 * {@code busy} instead of keeping the event loop answering it.
 */
class PingBudgetTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);

    private EmbeddedChannel connection() {
        RendezvousServer.Config config = new RendezvousServer.Config();
        config.nanoTime = now::get;
        RendezvousServer server =
                new RendezvousServer(
                        config, new RelayToken(RelayToken.randomSecret(), Clock.systemUTC()));
        return new EmbeddedChannel(new RendezvousHandler(server, InetAddress.getLoopbackAddress()));
    }

    @Test
    void aFloodOfPingsGetsItsBurstThenBusyAndClose() {
        EmbeddedChannel ch = connection();
        int sent = 0;
        while (ch.isOpen() && sent < 1_000) {
            ch.writeInbound(RendezvousMessage.of(RendezvousProtocol.PING));
            sent++;
        }
        assertEquals(RendezvousHandler.PING_BURST + 1, sent, "PINGs read before the close");
        for (int i = 0; i < RendezvousHandler.PING_BURST; i++) {
            assertEquals(RendezvousProtocol.PONG, ((RendezvousMessage) ch.readOutbound()).type());
        }
        RendezvousMessage refused = ch.readOutbound();
        assertEquals(RendezvousProtocol.ERROR, refused.type());
        assertEquals(RendezvousProtocol.E_BUSY, refused.get("code"));
        assertNull(ch.readOutbound(), "nothing after the ERROR");
        assertFalse(ch.isOpen());
    }

    @Test
    void heartbeatsAndOnePingASecondAreAlwaysAnswered() {
        EmbeddedChannel ch = connection();
        for (int i = 0; i < 100; i++) {
            now.addAndGet(
                    i % 2 == 0
                            ? RendezvousProtocol.HEARTBEAT_MILLIS * 1_000_000
                            : RendezvousHandler.PING_INTERVAL_NANOS);
            for (int j = 0; j < (i == 50 ? RendezvousHandler.PING_BURST : 1); j++) {
                ch.writeInbound(RendezvousMessage.of(RendezvousProtocol.PING));
                assertEquals(
                        RendezvousProtocol.PONG,
                        ((RendezvousMessage) ch.readOutbound()).type(),
                        "PING " + i);
            }
        }
        assertTrue(ch.isOpen());
    }
}
