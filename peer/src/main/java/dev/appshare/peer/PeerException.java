package dev.appshare.peer;

/**
 * A failure the user can act on: its message is one line saying what went wrong and what to do.
 * {@code exitCode} follows the command-line contract: 2 for usage errors and unknown names, 1
 * otherwise.
 */
public final class PeerException extends RuntimeException {
    private final int exitCode;

    public PeerException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
