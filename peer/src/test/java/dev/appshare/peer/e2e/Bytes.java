package dev.appshare.peer.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Deterministic byte streams and their digests, for comparing what went in with what came out. */
final class Bytes {
    private Bytes() {}

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes {@code len} pseudo-random bytes from {@code seed}; returns their SHA-256 (hex). */
    static String send(OutputStream out, long len, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        MessageDigest md = sha256();
        byte[] buf = new byte[64 << 10];
        long left = len;
        while (left > 0) {
            int n = (int) Math.min(buf.length, left);
            for (int i = 0; i < n; i += 8) {
                long v = r.nextLong();
                for (int j = 0; j < 8 && i + j < n; j++) buf[i + j] = (byte) (v >>> (8 * j));
            }
            md.update(buf, 0, n);
            out.write(buf, 0, n);
            left -= n;
        }
        out.flush();
        return HexFormat.of().formatHex(md.digest());
    }

    /** Reads to end of stream; returns SHA-256 (hex) and count. */
    static Digest drain(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 << 10];
        long total = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
            total += n;
        }
        return new Digest(HexFormat.of().formatHex(md.digest()), total);
    }

    record Digest(String sha256, long length) {}
}
