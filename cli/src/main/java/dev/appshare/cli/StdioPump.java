package dev.appshare.cli;

import dev.appshare.peer.Console;
import dev.appshare.peer.connect.Connector;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connect --stdio}: carries stdin/stdout as the one local connection of a connector. The
 * connector listens on an ephemeral loopback port and admits only this process's own connection to
 * it ({@link Connector#admitOnly}), closing the listener once it has it; so the bytes take the same
 * splice as any local TCP connection. Two threads copy, each through one bounded buffer with
 * blocking writes (the back-pressure): stdin to the socket, whose write side is shut at stdin's end
 * (the stream's FIN), and the socket to stdout; the command ends when the socket's input ends (the
 * share closed its side, or the tunnel went) or stdout cannot be written.
 */
final class StdioPump implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StdioPump.class);
    private static final int BUFFER = 64 * 1024;

    private final OutputStream out;
    private final InputStream in;
    private final Socket socket = new Socket();
    private volatile boolean broken;

    private StdioPump(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /** The forward to carry: the share's only port, or exactly {@code remote}. */
    static Connector.Forward forward(Integer remote) {
        InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        return remote == null
                ? new Connector.Forward(at, 0, true)
                : Connector.Forward.exactly(
                        at, PortSpecs.port(remote.toString(), 1, "--stdio-port"));
    }

    /**
     * Takes the process's stdout for the tunnelled bytes: {@link System#out} then points at stderr,
     * so nothing printed by the way (a library's notice) mixes into them.
     */
    static StdioPump takeStdout() {
        StdioPump pump =
                new StdioPump(
                        new FileInputStream(FileDescriptor.in),
                        new FileOutputStream(FileDescriptor.out));
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
        return pump;
    }

    /** The connector's lines, on stderr; without "Listening on", a loopback port of no use. */
    static Console console() {
        Console err = Console.of(System.err);
        return text -> {
            if (!text.startsWith("Listening on")) err.line(text);
        };
    }

    /** Binds this side of the loopback connection: the address the connector is to admit. */
    SocketAddress bind() throws IOException {
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return socket.getLocalSocketAddress();
    }

    void connect(InetSocketAddress listener) throws IOException {
        socket.setTcpNoDelay(true);
        socket.connect(listener, 10_000);
    }

    /** Starts copying both ways; {@code done} runs once the connection's input has ended. */
    void start(Runnable done) {
        Thread up =
                new Thread(
                        () -> {
                            byte[] buf = new byte[BUFFER];
                            try {
                                OutputStream to = socket.getOutputStream();
                                for (int n; (n = in.read(buf)) >= 0; ) {
                                    if (n > 0) to.write(buf, 0, n);
                                }
                                socket.shutdownOutput();
                                log.debug("stdin ended: half-closed the connection");
                            } catch (IOException e) {
                                if (!socket.isClosed())
                                    log.debug("stdin to the tunnel: {}", e.toString());
                            }
                        },
                        "stdin");
        Thread down =
                new Thread(
                        () -> {
                            byte[] buf = new byte[BUFFER];
                            try {
                                InputStream from = socket.getInputStream();
                                for (int n; (n = read(from, buf)) >= 0; ) {
                                    out.write(buf, 0, n);
                                    out.flush();
                                }
                                log.debug("the share closed the connection");
                            } catch (IOException e) {
                                log.debug("stdout cannot be written: {}", e.toString());
                            } finally {
                                done.run();
                            }
                        },
                        "stdout");
        up.setDaemon(true); // a read of stdin cannot be interrupted: exit does not wait for it
        down.setDaemon(true);
        up.start();
        down.start();
    }

    /** A read of the connection; its reset (the stream's) is {@link #broken}, and its end. */
    private int read(InputStream from, byte[] buf) {
        try {
            return from.read(buf);
        } catch (IOException e) {
            log.debug("the connection broke: {}", e.toString());
            broken = true;
            return -1;
        }
    }

    /**
     * Whether the connection was reset rather than closed: the share refused the port, or the
     * service or the tunnel broke it.
     */
    boolean broken() {
        return broken;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
