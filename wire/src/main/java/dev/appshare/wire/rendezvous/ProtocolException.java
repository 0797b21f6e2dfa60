package dev.appshare.wire.rendezvous;

/** A peer broke the control protocol: the connection is answered with an ERROR and closed. */
public final class ProtocolException extends Exception {
    public ProtocolException(String message) {
        super(message);
    }
}
