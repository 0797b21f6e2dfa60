package dev.appshare.wire.fuzz;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * What the *Fuzz properties share: inputs that are either purely random bytes or a valid encoding
 * with a few random mutations (so that most of them get past the first length or type check), the
 * input cut into chunks as TCP may deliver it, and an allocator that counts the bytes it has handed
 * out and not got back, so a property can require every buffer to be released.
 *
 * <p>A mutation is driven by a {@code long} seed that jqwik generates, so a failing input is
 * reproduced by the property's fixed seed alone.
 */
public final class Fuzzing {
    /** Byte values that parsers treat specially: delimiters, escapes, sign and length edges. */
    private static final byte[] INTERESTING = {
        0, 1, 0x7f, (byte) 0x80, (byte) 0xff, '\n', '\r', ' ', '=', '%', 0x20, 0x21, 0x40
    };

    private Fuzzing() {}

    /** Random bytes, from empty to {@code maxSize} long. */
    public static Arbitrary<byte[]> randomBytes(int maxSize) {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(maxSize);
    }

    /** A valid encoding with one to four random mutations. */
    public static Arbitrary<byte[]> mutationsOf(Arbitrary<byte[]> valid) {
        return Combinators.combine(valid, Arbitraries.longs())
                .as((bytes, seed) -> mutate(bytes, new Random(seed)));
    }

    /** Valid encodings as they are (one in four) and mutated (three in four). */
    @SuppressWarnings("unchecked")
    public static Arbitrary<byte[]> validOrMutated(Arbitrary<byte[]> valid) {
        return Arbitraries.frequencyOf(Tuple.of(1, valid), Tuple.of(3, mutationsOf(valid)));
    }

    /** One to four random mutations of {@code in}, driven by {@code r}. */
    public static byte[] mutate(byte[] in, Random r) {
        byte[] b = in;
        for (int n = 1 + r.nextInt(4); n > 0; n--) b = mutateOnce(b, r);
        return b;
    }

    private static byte[] mutateOnce(byte[] b, Random r) {
        int at = b.length == 0 ? 0 : r.nextInt(b.length);
        switch (r.nextInt(7)) {
            case 0: // flip one bit
                if (b.length == 0) return b;
                b = b.clone();
                b[at] ^= (byte) (1 << r.nextInt(8));
                return b;
            case 1: // one byte set to a value parsers care about
                if (b.length == 0) return b;
                b = b.clone();
                b[at] = INTERESTING[r.nextInt(INTERESTING.length)];
                return b;
            case 2: // one random byte
                if (b.length == 0) return b;
                b = b.clone();
                b[at] = (byte) r.nextInt(256);
                return b;
            case 3: // insert up to 8 random bytes
                {
                    byte[] extra = new byte[1 + r.nextInt(8)];
                    r.nextBytes(extra);
                    return splice(b, at, 0, extra);
                }
            case 4: // delete up to 8 bytes
                return splice(b, at, Math.min(b.length - at, 1 + r.nextInt(8)), new byte[0]);
            case 5: // truncate
                return Arrays.copyOf(b, at);
            default: // repeat a run of up to 16 bytes
                {
                    int len = Math.min(b.length - at, 1 + r.nextInt(16));
                    return splice(b, at, 0, Arrays.copyOfRange(b, at, at + len));
                }
        }
    }

    private static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
        byte[] out = new byte[b.length - remove + insert.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
        return out;
    }

    /**
     * The input cut into one to four chunks at random points (a chunk may be empty), each in a
     * buffer from {@code alloc}, as reads from a TCP connection would hand it over.
     */
    public static List<ByteBuf> chunks(UnpooledByteBufAllocator alloc, byte[] in, long seed) {
        Random r = new Random(seed);
        int[] cuts = new int[r.nextInt(4)];
        for (int i = 0; i < cuts.length; i++) cuts[i] = r.nextInt(in.length + 1);
        Arrays.sort(cuts);
        List<ByteBuf> out = new ArrayList<>(cuts.length + 1);
        int from = 0;
        for (int cut : cuts) {
            out.add(alloc.heapBuffer(cut - from).writeBytes(in, from, cut - from));
            from = cut;
        }
        out.add(alloc.heapBuffer(in.length - from).writeBytes(in, from, in.length - from));
        return out;
    }

    /** An allocator that counts what it has handed out and not got back (see {@link #inUse}). */
    public static UnpooledByteBufAllocator countingAllocator() {
        return new UnpooledByteBufAllocator(false);
    }

    /** Bytes of buffers from {@code alloc} not yet released: 0 once everything was released. */
    public static long inUse(UnpooledByteBufAllocator alloc) {
        ByteBufAllocatorMetric m = alloc.metric();
        return m.usedHeapMemory() + m.usedDirectMemory();
    }
}
