package dev.appshare.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;

/**
 * How a visitor's TLS handler gathers what it reads: bytes left over from the last read (a TLS
 * record cut short) and the new read, copied into one buffer of exactly their size.
 *
 * <p>Why: netty's default for the JDK's TLS engine appends each read to one buffer that grows by
 * doubling from its write position and is compacted only once half of it was read, never shrunk,
 * and freed only when it is empty, which a read rarely leaves it (TLS records do not end where
 * reads do). An uploading visitor's buffer grew to 2-4 MiB holding a few KiB: 124 uploads from one
 * address filled a 256 MiB gateway's direct memory, and other shares' tunnels failed for want of it
 * (a helper's attack run; 247 MB at the limit, 20 MB with this). The cost: the leftover, at most a
 * record (16 KiB), is copied once more per read.
 */
final class TightCumulator implements ByteToMessageDecoder.Cumulator {
    static final TightCumulator INSTANCE = new TightCumulator();

    private TightCumulator() {}

    @Override
    public ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (cumulation == in) { // as netty's own cumulators: the same buffer handed back
            in.release();
            return cumulation;
        }
        if (!cumulation.isReadable() && in.isContiguous()) {
            cumulation.release();
            return in; // nothing left over: the read itself, no copy
        }
        // Allocated before anything is released: if it fails (direct memory exhausted), the
        // decoder still owns the cumulation it holds, and releases it itself.
        ByteBuf both = alloc.buffer(cumulation.readableBytes() + in.readableBytes());
        try {
            both.writeBytes(cumulation).writeBytes(in);
        } catch (RuntimeException e) {
            both.release();
            in.release();
            throw e;
        }
        cumulation.release();
        in.release();
        return both;
    }
}
