package dev.appshare.peer.path;

import java.net.InetSocketAddress;

/**
 * The two fixed addresses the QUIC codec sees, whatever path a datagram really took. quiche treats
 * a new address as a new path (and fails the handshake or the connection on it), so every datagram
 * handed to the codec is rewritten to come from {@link #REMOTE} to {@link #LOCAL}, and everything
 * the codec sends to {@link #REMOTE} is carried by {@link PathSwitch}. They never reach a socket.
 */
public final class VirtualAddresses {
    public static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 1);
    public static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 2);

    private VirtualAddresses() {}
}
