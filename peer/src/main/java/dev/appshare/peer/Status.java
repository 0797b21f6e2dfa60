package dev.appshare.peer;

/**
 * What the status line shows at one moment (see {@code StatusLine} in the cli).
 *
 * @param path the path carrying the tunnel ("relay ...", "direct ..."), or null while there is no
 *     tunnel (for a share: null)
 * @param rttMillis the tunnel's smoothed round trip, or -1 when not known
 * @param bytesOut bytes this peer's connections sent to the other peer(s), in total
 * @param bytesIn bytes they received from them
 * @param connections connections open now
 * @param connectors for a share, the connectors with a tunnel up; -1 for connect
 * @param directConnectors of those, the ones on a direct path
 */
public record Status(
        String path,
        long rttMillis,
        long bytesOut,
        long bytesIn,
        int connections,
        int connectors,
        int directConnectors) {}
