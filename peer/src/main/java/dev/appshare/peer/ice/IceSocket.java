package dev.appshare.peer.ice;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * How ice4j sees the tunnel's one UDP socket, for one host address: receive() takes the STUN
 * datagrams {@link IceDemuxHandler} routed here, send() writes through the netty channel. ice4j's
 * STUN stack reads and writes it like a socket it bound itself, so no port is ever bound twice and
 * QUIC keeps the socket to itself.
 */
final class IceSocket extends DatagramSocket {
    /**
     * STUN is a trickle (checks, keep-alives); a full inbox means ice4j stalled, and drops are
     * fine.
     */
    private static final int INBOX = 64;

    private static final DatagramPacket CLOSED = new DatagramPacket(new byte[0], 0);

    private final InetSocketAddress local;
    private final IceDemuxHandler demux;
    private final BlockingQueue<DatagramPacket> inbox = new ArrayBlockingQueue<>(INBOX);
    private volatile boolean closed;
    private volatile int soTimeout;

    IceSocket(InetSocketAddress local, IceDemuxHandler demux) throws SocketException {
        super(
                (SocketAddress)
                        null); // an unbound placeholder: every call that matters is overridden
        this.local = local;
        this.demux = demux;
    }

    /** From the event loop: a STUN datagram for this address. */
    boolean offer(byte[] data, InetSocketAddress from) {
        return !closed && inbox.offer(new DatagramPacket(data, data.length, from));
    }

    @Override
    public void receive(DatagramPacket p) throws IOException {
        DatagramPacket d;
        try {
            d = soTimeout > 0 ? inbox.poll(soTimeout, TimeUnit.MILLISECONDS) : inbox.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SocketException("interrupted");
        }
        if (d == null) throw new SocketTimeoutException();
        if (d == CLOSED || closed) {
            inbox.offer(CLOSED); // wake any other reader too
            throw new SocketException("socket closed");
        }
        int n = Math.min(d.getLength(), p.getData().length - p.getOffset());
        System.arraycopy(d.getData(), 0, p.getData(), p.getOffset(), n);
        p.setLength(n);
        p.setSocketAddress(d.getSocketAddress());
    }

    @Override
    public void send(DatagramPacket p) throws IOException {
        if (closed) throw new SocketException("socket closed");
        demux.send(
                this,
                p.getData(),
                p.getOffset(),
                p.getLength(),
                (InetSocketAddress) p.getSocketAddress());
    }

    @Override
    public InetAddress getLocalAddress() {
        return local.getAddress();
    }

    @Override
    public int getLocalPort() {
        return local.getPort();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return local;
    }

    @Override
    public boolean isBound() {
        return true;
    }

    @Override
    public void setSoTimeout(int timeout) {
        soTimeout = timeout;
    }

    @Override
    public int getSoTimeout() {
        return soTimeout;
    }

    @Override
    public int getReceiveBufferSize() {
        return 1500; // ice4j sizes its receive buffers from this; STUN fits well within it
    }

    @Override
    public void setReceiveBufferSize(int size) {
        // the netty channel owns the real socket's buffers
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Closes this view only: the netty channel and QUIC carry on. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        inbox.clear();
        inbox.offer(CLOSED);
        demux.unregister(this);
        super.close();
    }
}
