package dev.appshare.peer.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.wire.fuzz.Fuzzing;
import dev.appshare.wire.net.Resolver;
import dev.appshare.wire.tunnel.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The sharer's reading of a stream's preamble ({@link TargetDialHandler} before it dials) on an
 * EmbeddedChannel, fed generated streams in random chunks (empty ones included) whose first byte is
 * not one of the preamble kinds ({@link StreamPreamble#OPEN_TCP}, {@link StreamPreamble#OPEN_PORT},
 * {@link StreamPreamble#OPEN_PORT_OR_ONLY}, {@link StreamPreamble#ABORT_STREAM}). 100,000 streams,
 * fixed seed. A stream that opens properly needs a real QUIC stream channel to dial from: the e2e
 * tests cover that path.
 */
class TargetDialHandlerFuzz {
    static final SharedTargets TARGET =
            SharedTargets.of(new SharedTarget(new InetSocketAddress("127.0.0.1", 9), Resolver.JDK));

    /**
     * A stream whose first byte is no preamble kind is closed as soon as that byte arrives, nothing
     * is dialled or passed on, and every buffer is released; empty reads before it change nothing.
     */
    @Property(tries = 100_000, seed = "9701", generation = GenerationMode.RANDOMIZED)
    void aStreamWithAnUnknownPreambleIsClosed(@ForAll("streams") byte[] in, @ForAll long chunking) {
        UnpooledByteBufAllocator alloc = Fuzzing.countingAllocator();
        EmbeddedChannel stream = new EmbeddedChannel();
        stream.config().setAllocator(alloc);
        stream.pipeline().addLast(new TargetDialHandler(TARGET, "fuzz"));
        // slf4j-simple looks System.err up on each line: keep the log lines out of the report, and
        // count them.
        PrintStream stderr = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            for (ByteBuf chunk : Fuzzing.chunks(alloc, in, chunking)) {
                if (stream.isOpen()) stream.writeInbound(chunk);
                else chunk.release();
            }
        } finally {
            System.setErr(stderr);
        }
        boolean refused = in.length > 0;
        assertEquals(!refused, stream.isOpen(), "closed once the first byte came");
        int lines = log.toString(StandardCharsets.UTF_8).split("unknown preamble", -1).length - 1;
        assertTrue(lines <= (refused ? 1 : 0), "at most one line (rate-limited), not " + lines);
        assertNull(stream.readInbound(), "nothing passed on");
        assertNull(stream.readOutbound(), "nothing written back");
        stream.finishAndReleaseAll();
        assertEquals(0, Fuzzing.inUse(alloc), "bytes of unreleased buffers");
        assertFalse(stream.isOpen());
    }

    @Provide
    Arbitrary<byte[]> streams() {
        return Fuzzing.randomBytes(32)
                .filter(
                        b ->
                                b.length == 0
                                        || (b[0] != StreamPreamble.OPEN_TCP
                                                && b[0] != StreamPreamble.OPEN_PORT
                                                && b[0] != StreamPreamble.OPEN_PORT_OR_ONLY
                                                && b[0] != StreamPreamble.ABORT_STREAM));
    }
}
