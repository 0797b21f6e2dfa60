package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.connect.Connector;
import dev.appshare.peer.connect.ConnectorTunnel;
import dev.appshare.peer.ice.IceSession;
import dev.appshare.peer.ice.RemoteSignals;
import dev.appshare.peer.pake.CodeWords;
import dev.appshare.peer.path.DirectPath;
import dev.appshare.peer.path.IceRestarts;
import dev.appshare.peer.path.PathCarrier;
import dev.appshare.peer.path.PathOptions;
import dev.appshare.peer.rendezvous.RendezvousClient;
import dev.appshare.peer.share.ProvingConnectors;
import dev.appshare.peer.share.Sharer;
import dev.appshare.peer.share.SharerSession;
import dev.appshare.peer.tunnel.KeepAliveHandler;
import dev.appshare.peer.tunnel.StreamBudget;
import dev.appshare.peer.tunnel.TargetDialHandler;
import dev.appshare.peer.tunnel.TunnelCodecs;
import dev.appshare.peer.tunnel.TunnelLanes;
import dev.appshare.relay.RelayServer;
import dev.appshare.rendezvous.ClientBudgets;
import dev.appshare.rendezvous.ClientLimits;
import dev.appshare.rendezvous.NameAllocator;
import dev.appshare.rendezvous.RendezvousHandler;
import dev.appshare.rendezvous.RendezvousServer;
import dev.appshare.rendezvous.ShareRegistry;
import dev.appshare.rendezvous.StunResponder;
import dev.appshare.wire.net.LineBudget;
import dev.appshare.wire.net.SpliceHandler;
import dev.appshare.wire.path.PathProbe;
import dev.appshare.wire.relay.RelayDatagrams;
import dev.appshare.wire.relay.RelayProtocol;
import dev.appshare.wire.relay.RelayToken;
import dev.appshare.wire.rendezvous.RendezvousFrames;
import dev.appshare.wire.rendezvous.RendezvousMessage;
import dev.appshare.wire.rendezvous.RendezvousProtocol;
import dev.appshare.wire.tunnel.PathSignals;
import dev.appshare.wire.tunnel.PausedStreams;
import dev.appshare.wire.tunnel.StreamCredit;
import dev.appshare.wire.tunnel.StreamEnds;
import dev.appshare.wire.tunnel.StreamPreamble;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/protocol.md's tables against the code: every row of "Constants at a glance" names a constant
 * and gives its value, and the message, error-code and relay-reason tables list exactly the names
 * the code speaks. A value changed on one side only fails here.
 */
class ProtocolDocTest {
    private static final RendezvousServer.Config SERVER_DEFAULTS = new RendezvousServer.Config();

    /** Each constant the glance table must hold, by the name its "code" column gives. */
    private static final Map<String, Object> CONSTANTS = constants();

    private static Map<String, Object> constants() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("RendezvousProtocol.VERSION", RendezvousProtocol.VERSION);
        c.put("RendezvousProtocol.MAX_PAKE_BYTES", (long) RendezvousProtocol.MAX_PAKE_BYTES);
        c.put(
                "RendezvousProtocol.NAME_RESERVATION_MILLIS",
                Duration.ofMillis(RendezvousProtocol.NAME_RESERVATION_MILLIS));
        c.put("ShareRegistry.MAX_RESERVATIONS", (long) ShareRegistry.MAX_RESERVATIONS);
        c.put("NameAllocator.DRAWS_PER_LENGTH", (long) NameAllocator.DRAWS_PER_LENGTH);
        c.put("CodeWords.ADJECTIVES", (long) CodeWords.ADJECTIVES);
        c.put("CodeWords.ANIMALS", (long) CodeWords.ANIMALS);
        c.put("Sharer.MAX_SESSIONS", (long) Sharer.MAX_SESSIONS);
        c.put("ProvingConnectors.MAX_PROVING", (long) ProvingConnectors.MAX_PROVING);
        c.put(
                "ProvingConnectors.MAX_PROVING_PER_ADDRESS",
                (long) ProvingConnectors.MAX_PROVING_PER_ADDRESS);
        c.put(
                "ProvingConnectors.FIRST_STEP_TIMEOUT_MILLIS",
                Duration.ofMillis(ProvingConnectors.FIRST_STEP_TIMEOUT_MILLIS));
        c.put(
                "ProvingConnectors.PAKE_TIMEOUT_MILLIS",
                Duration.ofMillis(ProvingConnectors.PAKE_TIMEOUT_MILLIS));
        c.put("Connector.PAKE_TIMEOUT_MILLIS", Duration.ofMillis(Connector.PAKE_TIMEOUT_MILLIS));
        c.put(
                "Connector.MAX_WRONG_CODE_RETRY_MILLIS",
                Duration.ofMillis(Connector.MAX_WRONG_CODE_RETRY_MILLIS));
        c.put("Connector.REFUSED_RETRY_MILLIS", Duration.ofMillis(Connector.REFUSED_RETRY_MILLIS));
        c.put("RendezvousFrames.MAX_FRAME", (long) RendezvousFrames.MAX_FRAME);
        c.put("RendezvousMessage.MAX_FIELDS", (long) RendezvousMessage.MAX_FIELDS);
        c.put(
                "RendezvousServer.Config.handshakeTimeoutMillis",
                Duration.ofMillis(SERVER_DEFAULTS.handshakeTimeoutMillis));
        c.put(
                "RendezvousProtocol.HEARTBEAT_MILLIS",
                Duration.ofMillis(RendezvousProtocol.HEARTBEAT_MILLIS));
        c.put("RendezvousProtocol.IDLE_MILLIS", Duration.ofMillis(RendezvousProtocol.IDLE_MILLIS));
        c.put(
                "RendezvousClient.FIRST_CONNECT_ATTEMPTS",
                (long) RendezvousClient.FIRST_CONNECT_ATTEMPTS);
        c.put(
                "RendezvousClient.MAX_BACKOFF_MILLIS",
                Duration.ofMillis(RendezvousClient.MAX_BACKOFF_MILLIS));
        c.put(
                "RendezvousClient.SHORT_LIVED_MILLIS",
                Duration.ofMillis(RendezvousClient.SHORT_LIVED_MILLIS));
        c.put(
                "RendezvousServer.Config.maxSessionsPerShare",
                (long) SERVER_DEFAULTS.maxSessionsPerShare);
        c.put(
                "RendezvousHandler.UNKNOWN_NAME_INTERVAL_NANOS",
                Duration.ofNanos(RendezvousHandler.UNKNOWN_NAME_INTERVAL_NANOS));
        c.put("RendezvousServer.QUEUE_HIGH", (long) RendezvousServer.QUEUE_HIGH);
        c.put(
                "RendezvousServer.NOT_READING_MILLIS",
                Duration.ofMillis(RendezvousServer.NOT_READING_MILLIS));
        c.put("ClientLimits.MAX_CONNECTIONS", (long) ClientLimits.MAX_CONNECTIONS);
        c.put("ClientLimits.CONNECTIONS_PER_ADDRESS", (long) ClientLimits.CONNECTIONS_PER_ADDRESS);
        c.put("ClientLimits.LOOKUPS_PER_SECOND", (long) ClientLimits.LOOKUPS_PER_SECOND);
        c.put("ClientLimits.LOOKUP_BURST", (long) ClientLimits.LOOKUP_BURST);
        c.put("ClientLimits.TOKENS_PER_SECOND", (long) ClientLimits.TOKENS_PER_SECOND);
        c.put("ClientLimits.TOKEN_BURST", (long) ClientLimits.TOKEN_BURST);
        c.put("ClientLimits.SHARES_PER_ADDRESS", (long) ClientLimits.SHARES_PER_ADDRESS);
        c.put("ClientLimits.SHARES_PER_V6_SITE", (long) ClientLimits.SHARES_PER_V6_SITE);
        c.put("ClientBudgets.MAX_ADDRESSES", (long) ClientBudgets.MAX_ADDRESSES);
        c.put(
                "ClientBudgets.LOG_INTERVAL_NANOS",
                Duration.ofNanos(ClientBudgets.LOG_INTERVAL_NANOS));
        c.put(
                "RendezvousServer.Config.tokenLifetimeMillis",
                Duration.ofMillis(SERVER_DEFAULTS.tokenLifetimeMillis));
        c.put("RelayToken.MAX_TEXT", (long) RelayToken.MAX_TEXT);
        c.put("RelayProtocol.MAX_LINE", (long) RelayProtocol.MAX_LINE);
        c.put(
                "RelayProtocol.PAIRING_TIMEOUT_MILLIS",
                Duration.ofMillis(RelayProtocol.PAIRING_TIMEOUT_MILLIS));
        c.put("RelayServer.MAX_PAIRING_ENTRIES", (long) RelayServer.MAX_PAIRING_ENTRIES);
        c.put(
                "RelayServer.MAX_CONNECTIONS_PER_ADDRESS",
                (long) RelayServer.MAX_CONNECTIONS_PER_ADDRESS);
        c.put(
                "RelayProtocol.SPLICE_IDLE_MILLIS",
                Duration.ofMillis(RelayProtocol.SPLICE_IDLE_MILLIS));
        c.put(
                "PathCarrier.RELAY_PAIRING_TIMEOUT_MILLIS",
                Duration.ofMillis(PathCarrier.RELAY_PAIRING_TIMEOUT_MILLIS));
        c.put(
                "PathCarrier.RELAY_HEAD_START_MILLIS",
                Duration.ofMillis(PathCarrier.RELAY_HEAD_START_MILLIS));
        c.put("RelayDatagrams.MAX_DATAGRAM", (long) RelayDatagrams.MAX_DATAGRAM);
        c.put("StunResponder.MAX_REQUEST", (long) StunResponder.MAX_REQUEST);
        c.put("StunResponder.QUEUE_HIGH", (long) StunResponder.QUEUE_HIGH);
        c.put("TunnelCodecs.ALPN", TunnelCodecs.ALPN);
        c.put("TunnelCodecs.MAX_UDP_PAYLOAD", (long) TunnelCodecs.MAX_UDP_PAYLOAD);
        c.put("TunnelCodecs.RELAY_ONLY_PAYLOAD", (long) TunnelCodecs.RELAY_ONLY_PAYLOAD);
        c.put("TunnelCodecs.GSO_SEGMENTS", (long) TunnelCodecs.GSO_SEGMENTS);
        c.put(
                "TunnelCodecs.IDLE_TIMEOUT_SECONDS",
                Duration.ofSeconds(TunnelCodecs.IDLE_TIMEOUT_SECONDS));
        c.put("TunnelCodecs.MAX_DATA", TunnelCodecs.MAX_DATA);
        c.put("TunnelCodecs.MAX_STREAM_DATA", TunnelCodecs.MAX_STREAM_DATA);
        c.put("TunnelCodecs.GATEWAY_STREAM_DATA", TunnelCodecs.GATEWAY_STREAM_DATA);
        c.put("TunnelCodecs.MAX_STREAMS", TunnelCodecs.MAX_STREAMS);
        c.put("TunnelCodecs.MAX_STREAMS_FROM_SHARE", TunnelCodecs.MAX_STREAMS_FROM_SHARE);
        c.put(
                "TunnelCodecs.MAX_STREAMS_FROM_SHARE_AT_GATEWAY",
                TunnelCodecs.MAX_STREAMS_FROM_SHARE_AT_GATEWAY);
        c.put("RendezvousClient.MAX_UNREAD_BYTES", RendezvousClient.MAX_UNREAD_BYTES);
        c.put("StreamCredit.MAX_WAITING", (long) StreamCredit.MAX_WAITING);
        c.put("PausedStreams.BUDGET", (long) PausedStreams.BUDGET);
        c.put("PausedStreams.CEILING", (long) PausedStreams.CEILING);
        c.put("PausedStreams.MIN_STALL_NANOS", Duration.ofNanos(PausedStreams.MIN_STALL_NANOS));
        c.put(
                "PausedStreams.CEILING_MIN_STALL_NANOS",
                Duration.ofNanos(PausedStreams.CEILING_MIN_STALL_NANOS));
        c.put(
                "KeepAliveHandler.INTERVAL_MILLIS",
                Duration.ofMillis(KeepAliveHandler.INTERVAL_MILLIS));
        c.put(
                "ConnectorTunnel.HANDSHAKE_TIMEOUT_MILLIS",
                Duration.ofMillis(ConnectorTunnel.HANDSHAKE_TIMEOUT_MILLIS));
        c.put(
                "SharerSession.HANDSHAKE_TIMEOUT_MILLIS",
                Duration.ofMillis(SharerSession.HANDSHAKE_TIMEOUT_MILLIS));
        c.put("Connector.RETRY_MILLIS", Duration.ofMillis(Connector.RETRY_MILLIS));
        c.put(
                "TargetDialHandler.CONNECT_TIMEOUT_MILLIS",
                Duration.ofMillis(TargetDialHandler.CONNECT_TIMEOUT_MILLIS));
        c.put("StreamPreamble.OPEN_TCP", (long) StreamPreamble.OPEN_TCP);
        c.put("StreamPreamble.OPEN_PORT", (long) StreamPreamble.OPEN_PORT);
        c.put("StreamPreamble.OPEN_PORT_OR_ONLY", (long) StreamPreamble.OPEN_PORT_OR_ONLY);
        c.put("StreamPreamble.ABORT_STREAM", (long) StreamPreamble.ABORT_STREAM);
        c.put("StreamPreamble.PATH_SIGNALS", (long) StreamPreamble.PATH_SIGNALS);
        c.put("PathSignals.MAX_QUEUED", (long) PathSignals.MAX_QUEUED);
        c.put("StreamPreamble.STREAM_ENDS", (long) StreamPreamble.STREAM_ENDS);
        c.put("StreamEnds.RECORD_LENGTH", (long) StreamEnds.RECORD_LENGTH);
        c.put("StreamEnds.FIN", (long) StreamEnds.FIN);
        c.put("StreamEnds.RESET", (long) StreamEnds.RESET);
        c.put("StreamEnds.MAX_QUEUED", (long) StreamEnds.MAX_QUEUED);
        c.put("StreamPreamble.REFUSED_ERROR", (long) StreamPreamble.REFUSED_ERROR);
        c.put("StreamPreamble.BUSY_ERROR", (long) StreamPreamble.BUSY_ERROR);
        c.put("StreamPreamble.LATE_ERROR", (long) StreamPreamble.LATE_ERROR);
        c.put("TunnelLanes.STREAMS_PER_LANE", (long) TunnelLanes.STREAMS_PER_LANE);
        c.put("TunnelLanes.MAX_LANES", (long) TunnelLanes.MAX_LANES);
        c.put("TunnelLanes.WAIT_MILLIS", Duration.ofMillis(TunnelLanes.WAIT_MILLIS));
        c.put("TunnelLanes.ACCEPT_MILLIS", Duration.ofMillis(TunnelLanes.ACCEPT_MILLIS));
        c.put(
                "TargetDialHandler.PREAMBLE_MILLIS",
                Duration.ofMillis(TargetDialHandler.PREAMBLE_MILLIS));
        c.put("StreamBudget.MAX_TOTAL", (long) StreamBudget.MAX_TOTAL);
        c.put("StreamBudget.CONTROL_OVER_BUDGET", (long) StreamBudget.CONTROL_OVER_BUDGET);
        c.put("StreamBudget.RESERVED_DESCRIPTORS", (long) StreamBudget.RESERVED_DESCRIPTORS);
        c.put("LineBudget.LINES_PER_INTERVAL", (long) LineBudget.LINES_PER_INTERVAL);
        c.put("SpliceHandler.ABORT_ERROR", (long) SpliceHandler.ABORT_ERROR);
        c.put("RemoteSignals.MAX_REMOTE_HOSTS", (long) RemoteSignals.MAX_REMOTE_HOSTS);
        c.put("RemoteSignals.MAX_REMOTE_REFLEXIVE", (long) RemoteSignals.MAX_REMOTE_REFLEXIVE);
        c.put("RemoteSignals.MAX_REMOTE_SIGNALS", (long) RemoteSignals.MAX_REMOTE_SIGNALS);
        c.put(
                "RendezvousProtocol.MAX_SIGNALS_PER_SESSION",
                (long) RendezvousProtocol.MAX_SIGNALS_PER_SESSION);
        c.put("IceSession.MAX_SESSIONS", (long) IceSession.MAX_SESSIONS);
        c.put(
                "IceSession.REMOTE_END_WAIT_MILLIS",
                Duration.ofMillis(IceSession.REMOTE_END_WAIT_MILLIS));
        c.put("PathOptions.ICE_TIMEOUT_MILLIS", Duration.ofMillis(PathOptions.ICE_TIMEOUT_MILLIS));
        c.put("PathProbe.PROBE", (long) PathProbe.PROBE);
        c.put("PathProbe.ANSWER", (long) PathProbe.ANSWER);
        c.put("PathProbe.PROBE_LENGTH", (long) PathProbe.PROBE_LENGTH);
        c.put("PathProbe.ANSWER_LENGTH", (long) PathProbe.ANSWER_LENGTH);
        c.put(
                "DirectPath.UNANSWERED_PROBE_MILLIS",
                Duration.ofMillis(DirectPath.UNANSWERED_PROBE_MILLIS));
        c.put("DirectPath.ACTIVE_PROBE_MILLIS", Duration.ofMillis(DirectPath.ACTIVE_PROBE_MILLIS));
        c.put("DirectPath.IDLE_PROBE_MILLIS", Duration.ofMillis(DirectPath.IDLE_PROBE_MILLIS));
        c.put(
                "DirectPath.DEAD_PROBE_MAX_MILLIS",
                Duration.ofMillis(DirectPath.DEAD_PROBE_MAX_MILLIS));
        c.put(
                "DirectPath.PROVING_LIMIT_MILLIS",
                Duration.ofMillis(DirectPath.PROVING_LIMIT_MILLIS));
        c.put("DirectPath.DOUBT_AFTER_MILLIS", Duration.ofMillis(DirectPath.DOUBT_AFTER_MILLIS));
        c.put("DirectPath.DEAD_AFTER_MILLIS", Duration.ofMillis(DirectPath.DEAD_AFTER_MILLIS));
        c.put("IceRestarts.DEAD_MILLIS", Duration.ofMillis(IceRestarts.DEAD_MILLIS));
        c.put("IceRestarts.FIRST_RETRY_MILLIS", Duration.ofMillis(IceRestarts.FIRST_RETRY_MILLIS));
        c.put("IceRestarts.MAX_RETRY_MILLIS", Duration.ofMillis(IceRestarts.MAX_RETRY_MILLIS));
        c.put("IceRestarts.STABLE_MILLIS", Duration.ofMillis(IceRestarts.STABLE_MILLIS));
        c.put("IceRestarts.MIN_GAP_MILLIS", Duration.ofMillis(IceRestarts.MIN_GAP_MILLIS));
        c.put("IceRestarts.REMOTE_GAP_MILLIS", Duration.ofMillis(IceRestarts.REMOTE_GAP_MILLIS));
        c.put("IceRestarts.JOIN_BURST", (long) IceRestarts.JOIN_BURST);
        c.put("IceRestarts.JOIN_REFILL_MILLIS", Duration.ofMillis(IceRestarts.JOIN_REFILL_MILLIS));
        c.put("IceSession.RESERVED_FOR_FIRST", (long) IceSession.RESERVED_FOR_FIRST);
        return c;
    }

    @Test
    void everyConstantInTheGlanceTableMatchesTheCode() throws IOException {
        List<List<String>> rows = table(protocolDoc(), "## Constants at a glance");
        Map<String, Object> seen = new LinkedHashMap<>();
        List<String> wrong = new ArrayList<>();
        for (List<String> row : rows) {
            assertEquals(3, row.size(), "a glance row is | constant | value | code |: " + row);
            String name = row.get(2);
            assertTrue(CONSTANTS.containsKey(name), "the table names an unknown constant: " + name);
            assertTrue(seen.put(name, row.get(1)) == null, "a constant listed twice: " + name);
            Object documented = value(row.get(1));
            if (!CONSTANTS.get(name).equals(documented)) {
                wrong.add(
                        name
                                + ": docs/protocol.md says "
                                + row.get(1)
                                + ", the code has "
                                + CONSTANTS.get(name));
            }
        }
        assertEquals(List.of(), wrong, "docs/protocol.md and the code differ");
        assertEquals(
                CONSTANTS.keySet(), seen.keySet(), "every constant this test checks has a row");
    }

    @Test
    void theMessageTableListsEveryMessageType() throws IOException {
        Set<String> documented = new TreeSet<>();
        for (List<String> row : table(protocolDoc(), "### Messages")) {
            documented.add(unquote(row.get(0)).split(" ")[0]);
        }
        assertEquals(
                new TreeSet<>(
                        Set.of(
                                RendezvousProtocol.REGISTER,
                                RendezvousProtocol.HELLO,
                                RendezvousProtocol.WELCOME,
                                RendezvousProtocol.CHALLENGE,
                                RendezvousProtocol.PROVE,
                                RendezvousProtocol.REGISTERED,
                                RendezvousProtocol.PAKE,
                                RendezvousProtocol.END,
                                RendezvousProtocol.CONNECT,
                                RendezvousProtocol.ACCEPTED,
                                RendezvousProtocol.INCOMING,
                                RendezvousProtocol.SIGNAL,
                                RendezvousProtocol.GONE,
                                RendezvousProtocol.PING,
                                RendezvousProtocol.PONG,
                                RendezvousProtocol.ERROR)),
                documented);
    }

    @Test
    void theErrorCodeTableListsEveryErrorCode() throws IOException {
        assertEquals(
                new TreeSet<>(
                        Set.of(
                                RendezvousProtocol.E_UNKNOWN_NAME,
                                RendezvousProtocol.E_NAME_TAKEN,
                                RendezvousProtocol.E_BAD_NAME,
                                RendezvousProtocol.E_BAD_REQUEST,
                                RendezvousProtocol.E_TIMEOUT,
                                RendezvousProtocol.E_BUSY,
                                RendezvousProtocol.E_VERSION)),
                firstColumn(table(protocolDoc(), "### Error codes")));
    }

    @Test
    void theRelayReasonTableListsEveryReason() throws IOException {
        String doc = protocolDoc();
        // The reasons table is the first table after the pairing section's heading whose header
        // starts with "| reason |".
        String pairing = doc.substring(doc.indexOf("### Pairing"));
        assertEquals(
                new TreeSet<>(
                        Set.of(
                                RelayProtocol.BAD_REQUEST,
                                RelayProtocol.BAD_TOKEN,
                                RelayProtocol.SPENT_TOKEN,
                                RelayProtocol.BUSY,
                                RelayProtocol.TIMEOUT,
                                RelayProtocol.NO_PARTNER)),
                firstColumn(table(pairing, "| reason |")));
    }

    private static Set<String> firstColumn(List<List<String>> rows) {
        Set<String> s = new TreeSet<>();
        for (List<String> row : rows) s.add(unquote(row.get(0)));
        return s;
    }

    private static String unquote(String cell) {
        return cell.startsWith("`") && cell.endsWith("`")
                ? cell.substring(1, cell.length() - 1)
                : cell;
    }

    private static final Pattern NUMBER =
            Pattern.compile("(\\d[\\d,]*)(?: (bytes|KiB|MiB|ms|s|entries|chars))?");
    private static final Pattern HEX = Pattern.compile("0x([0-9A-Fa-f]{2})");

    /**
     * A value cell as the code holds it: a Duration for ms and s, a Long for counts, sizes (in
     * bytes) and hex bytes, a String for text in backticks.
     */
    static Object value(String cell) {
        if (cell.length() > 1 && cell.startsWith("`") && cell.endsWith("`")) return unquote(cell);
        Matcher hex = HEX.matcher(cell);
        if (hex.matches()) return Long.parseLong(hex.group(1), 16);
        Matcher m = NUMBER.matcher(cell);
        if (!m.matches()) throw new IllegalArgumentException("not a value: '" + cell + "'");
        long n = Long.parseLong(m.group(1).replace(",", ""));
        String unit = m.group(2) == null ? "" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "KiB" -> n << 10;
            case "MiB" -> n << 20;
            default -> n; // a count, bytes, entries, chars
        };
    }

    /**
     * The body rows of the first Markdown table after the first line that starts with {@code
     * heading}: cells trimmed, header and separator skipped.
     */
    static List<List<String>> table(String doc, String heading) {
        List<String> lines = doc.lines().toList();
        int i = 0;
        while (i < lines.size() && !lines.get(i).startsWith(heading)) i++;
        assertTrue(i < lines.size(), "docs/protocol.md has no '" + heading + "'");
        if (!lines.get(i).startsWith("|")) {
            while (i < lines.size() && !lines.get(i).startsWith("|")) i++;
        }
        List<List<String>> rows = new ArrayList<>();
        for (int row = 0; i < lines.size() && lines.get(i).startsWith("|"); i++, row++) {
            if (row < 2) continue; // the header and the --- line
            String line = lines.get(i).trim();
            List<String> cells = new ArrayList<>();
            for (String cell : line.substring(1, line.length() - 1).split("\\|", -1)) {
                cells.add(cell.trim());
            }
            rows.add(cells);
        }
        assertFalse(rows.isEmpty(), "no table rows after '" + heading + "'");
        return rows;
    }

    /** docs/protocol.md, found from the module directory (or the repository root) upwards. */
    static String protocolDoc() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path doc = dir.resolve("docs").resolve("protocol.md");
            if (Files.isRegularFile(doc)) return Files.readString(doc, StandardCharsets.UTF_8);
        }
        throw new IOException("docs/protocol.md not found above " + Path.of("").toAbsolutePath());
    }
}
