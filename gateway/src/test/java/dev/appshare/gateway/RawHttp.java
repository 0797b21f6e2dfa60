package dev.appshare.gateway;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A visitor's HTTP/1.1 on a plain socket: the test writes the request bytes itself (so it can
 * pipeline, forge headers, leave Host out) and reads responses one at a time, by Content-Length,
 * chunked, or to the end of the stream.
 */
final class RawHttp {
    private RawHttp() {}

    record Response(int status, List<String[]> headers, byte[] body) {
        String header(String name) {
            for (String[] h : headers) if (h[0].equalsIgnoreCase(name)) return h[1];
            return null;
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** A GET of {@code path} with Host {@code host}, keep-alive. */
    static byte[] get(String path, String host) {
        return ascii("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    }

    /** Reads one response, its body into memory. */
    static Response read(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Response head = read(in, body);
        return new Response(head.status(), head.headers(), body.toByteArray());
    }

    /** Reads one response, its body into {@code sink} (the returned body is empty). */
    static Response read(InputStream in, OutputStream sink) throws IOException {
        return read(in, sink, false);
    }

    /** Reads the response to a HEAD: its head alone, whatever its length says. */
    static Response readHead(InputStream in) throws IOException {
        return read(in, OutputStream.nullOutputStream(), true);
    }

    private static Response read(InputStream in, OutputStream sink, boolean toHead)
            throws IOException {
        String status = line(in);
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1."))
            throw new IOException("not a status line: " + status);
        int code = Integer.parseInt(parts[1]);
        List<String[]> headers = new ArrayList<>();
        for (String l = line(in); !l.isEmpty(); l = line(in)) {
            int colon = l.indexOf(':');
            headers.add(new String[] {l.substring(0, colon).trim(), l.substring(colon + 1).trim()});
        }
        Response r = new Response(code, headers, new byte[0]);
        String te = r.header("Transfer-Encoding");
        String cl = r.header("Content-Length");
        if (toHead || code / 100 == 1 || code == 204 || code == 304) {
            // no body
        } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            for (; ; ) {
                String size = line(in);
                int semi = size.indexOf(';');
                long n = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                if (n == 0) break;
                copy(in, sink, n);
                if (!line(in).isEmpty()) throw new IOException("no CRLF after a chunk");
            }
            for (String l = line(in); !l.isEmpty(); l = line(in)) {
                // trailers: none expected
            }
        } else if (cl != null) {
            copy(in, sink, Long.parseLong(cl));
        } else {
            in.transferTo(sink);
        }
        return r;
    }

    private static void copy(InputStream in, OutputStream sink, long n) throws IOException {
        byte[] buf = new byte[64 << 10];
        while (n > 0) {
            int got = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (got < 0) throw new EOFException(n + " bytes of the body missing");
            sink.write(buf, 0, got);
            n -= got;
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (; ; ) {
            int c = in.read();
            if (c < 0) throw new EOFException("the connection closed; line so far: " + b);
            if (c == '\n') break;
            if (c != '\r') b.append((char) c);
            if (b.length() > 16384) throw new IOException("line too long");
        }
        return b.toString();
    }
}
