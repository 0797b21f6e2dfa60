package dev.appshare.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.wire.http.BasicAuth;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The visitor handler's decisions before any tunnel is involved, on an EmbeddedChannel with the
 * real HTTP codec: which Host is routed where, what a visitor is told when it is not (400, 404,
 * 502, 401, each closing the connection and naming nothing), and the deadline for a first request.
 */
class VisitorHandlerTest {
    private static final String DOMAIN = "gw.test";
    private static final String LIVE = "abcdefghijkl";
    private static final String LOCKED = "mnopqrstuvwx";
    private static final String LEFT = "yz234567abcd";

    /**
     * A table of labels instead of a gateway: a live share, one with credentials, one that left.
     */
    private static final class Table implements VisitorHandler.Routes {
        final Map<String, ShareRegistry.Share> live =
                Map.of(
                        LIVE, share("1111", LIVE, null),
                        LOCKED, share("2222", LOCKED, BasicAuth.hash("bob:s3cret")));
        final Set<String> left = Set.of(LEFT);
        int tunnelsAsked;

        @Override
        public String domain() {
            return DOMAIN;
        }

        @Override
        public ShareRegistry.Share publicShare(String label) {
            return live.get(label);
        }

        @Override
        public boolean wasPublic(String label) {
            return left.contains(label);
        }

        @Override
        public boolean attached() {
            return true;
        }

        @Override
        public GatewayTunnels tunnels() {
            tunnelsAsked++;
            return null; // these tests never get as far as a tunnel
        }
    }

    private static ShareRegistry.Share share(String name, String label, String auth) {
        return new ShareRegistry.Share(
                name, null, "0".repeat(64), InetAddress.getLoopbackAddress(), label, auth);
    }

    private final Table table = new Table();

    private EmbeddedChannel visitor() {
        return new EmbeddedChannel(new HttpServerCodec(), new VisitorHandler(table, false));
    }

    /** Sends {@code request} and returns what the gateway answered (the status line first). */
    private static String exchange(EmbeddedChannel ch, String request) {
        ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
        ch.runPendingTasks();
        StringBuilder out = new StringBuilder();
        for (Object o; (o = ch.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    private static String get(String host) {
        return "GET /secret/path HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    }

    @Test
    void aHostOutsideTheDomainIsABadRequestThatNamesNothingAndCloses() {
        for (String host :
                new String[] {
                    "127.0.0.1:8080",
                    "[::1]:8080",
                    LIVE + ".other.test",
                    "x." + LIVE + "." + DOMAIN,
                    DOMAIN,
                    "ABC." + DOMAIN,
                    LIVE + "." + DOMAIN + ":99999x"
                }) {
            EmbeddedChannel ch = visitor();
            String answer = exchange(ch, get(host));
            assertTrue(answer.startsWith("HTTP/1.1 400 "), host + ": " + answer);
            assertTrue(answer.contains(GatewayPages.BAD_HOST), answer);
            assertFalse(answer.contains(LIVE), "the page names nothing: " + answer);
            assertFalse(ch.isOpen(), host + ": closed after the answer");
        }
        assertEquals(0, table.tunnelsAsked, "no tunnel for a bad Host");
    }

    @Test
    void noHostAtAllIsABadRequest() {
        EmbeddedChannel ch = visitor();
        String answer = exchange(ch, "GET / HTTP/1.0\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 400 "), answer);
        assertFalse(ch.isOpen());
    }

    @Test
    void anUnknownLabelIsNotFoundAndOneThatLeftIsOffline() {
        EmbeddedChannel unknown = visitor();
        String answer = exchange(unknown, get("zzzzzzzzzzzz." + DOMAIN + ":8080"));
        assertTrue(answer.startsWith("HTTP/1.1 404 "), answer);
        assertTrue(answer.endsWith(GatewayPages.NOT_FOUND), "a page naming nothing: " + answer);
        assertFalse(unknown.isOpen());

        EmbeddedChannel offline = visitor();
        answer = exchange(offline, get(LEFT + "." + DOMAIN));
        assertTrue(answer.startsWith("HTTP/1.1 502 "), answer);
        assertTrue(answer.contains("offline"), answer);
        assertFalse(offline.isOpen());
        assertEquals(0, table.tunnelsAsked);
    }

    @Test
    void aShareWithCredentialsAnswersWithoutOrWrongOnesWith401() {
        String host = LOCKED.toUpperCase() + "." + DOMAIN + ".:8080"; // any case, trailing dot
        for (String auth :
                new String[] {
                    null,
                    "Basic " + b64("bob:wrong"),
                    "Basic " + b64("bob:s3cret2"),
                    "Bearer x",
                    "Basic ###"
                }) {
            EmbeddedChannel ch = visitor();
            String request =
                    "GET / HTTP/1.1\r\nHost: "
                            + host
                            + "\r\n"
                            + (auth == null ? "" : "Authorization: " + auth + "\r\n")
                            + "\r\n";
            String answer = exchange(ch, request);
            assertTrue(answer.startsWith("HTTP/1.1 401 "), auth + ": " + answer);
            assertTrue(
                    answer.contains("WWW-Authenticate: Basic realm=\"appshare\"")
                            || answer.contains("www-authenticate: Basic realm=\"appshare\""),
                    answer);
            assertFalse(ch.isOpen());
        }
        assertEquals(0, table.tunnelsAsked, "no tunnel without the credentials");
    }

    @Test
    void aConnectionThatSendsNoRequestIsClosedAfterItsDeadline() {
        // The channel's clock is the machine's plus what the test adds: frozen before the deadline
        // is set, a loaded machine's pauses between the steps below do not count (the margin
        // before the deadline is 1 ms).
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        ch.pipeline().addLast(new HttpServerCodec(), new VisitorHandler(table, false));
        ch.writeInbound(Unpooled.copiedBuffer("GET / HT", StandardCharsets.ISO_8859_1));
        ch.advanceTimeBy(VisitorHandler.FIRST_REQUEST_MILLIS - 1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "still open before the deadline");
        ch.advanceTimeBy(2, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertFalse(ch.isOpen(), "closed at the deadline");
    }

    @Test
    void aRoutedRequestAsksForTheSharesTunnel() {
        EmbeddedChannel ch = visitor();
        try {
            exchange(ch, get(LIVE + "." + DOMAIN));
        } catch (RuntimeException e) {
            // the table has no tunnels: the handler got that far
        }
        assertEquals(1, table.tunnelsAsked, "the live share's tunnel was asked for");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }
}
