package dev.appshare.peer.path;

/** Which paths a peer may use: {@code --transport auto|direct|relay}. */
public enum Transport {
    AUTO,
    DIRECT,
    RELAY;

    public static Transport parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> AUTO;
            case "direct" -> DIRECT;
            case "relay" -> RELAY;
            default ->
                    throw new IllegalArgumentException(
                            "--transport must be auto, direct or relay, not '" + s + "'");
        };
    }
}
