package dev.appshare.peer.path;

import java.util.Locale;

/** Which paths a peer may use: {@code --transport auto|direct|relay}. */
public enum Transport {
    AUTO,
    DIRECT,
    RELAY;

    public static Transport parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "direct" -> DIRECT;
            case "relay" -> RELAY;
            default ->
                    throw new IllegalArgumentException(
                            "--transport must be auto, direct or relay, not '" + s + "'");
        };
    }
}
