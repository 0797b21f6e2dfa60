package dev.appshare.peer;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Copies what is written to System.err, where slf4j-simple logs (it looks System.err up on each
 * line), while still passing it on to the real stream. Close to stop copying.
 */
public final class StderrCapture implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    public StderrCapture() {
        System.setErr(
                new PrintStream(
                        new OutputStream() {
                            @Override
                            public void write(int b) {
                                write(new byte[] {(byte) b}, 0, 1);
                            }

                            @Override
                            public void write(byte[] b, int off, int len) {
                                synchronized (copy) {
                                    copy.write(b, off, len);
                                }
                                original.write(b, off, len);
                            }

                            @Override
                            public void flush() {
                                original.flush();
                            }
                        },
                        true,
                        StandardCharsets.UTF_8));
    }

    /** Everything written to System.err since this capture started. */
    public String text() {
        synchronized (copy) {
            return copy.toString(StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        System.setErr(original);
    }
}
