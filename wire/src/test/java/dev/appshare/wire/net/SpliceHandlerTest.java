package dev.appshare.wire.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Queue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The splice on {@link EmbeddedChannel}s: half-close, close, abort and back-pressure, each driven
 * one event at a time. Writability is modelled with netty's user-defined writability bit on the
 * outbound buffer (an embedded channel's own buffer never fills); a TCP reset needs a real socket,
 * see {@link SpliceResetTest}.
 */
class SpliceHandlerTest {

    /** An embedded channel that can be half-closed, as the splice requires of both its channels. */
    static final class Duplex extends EmbeddedChannel implements DuplexChannel {
        boolean inputShutdown;
        boolean outputShutdown;
        int reads;
        int flushes;
        final Queue<ChannelPromise> heldWrites = new ArrayDeque<>();
        boolean holdWrites;

        Duplex() {
            config().setAutoRead(false);
            pipeline()
                    .addFirst(
                            new ChannelOutboundHandlerAdapter() {
                                @Override
                                public void read(ChannelHandlerContext ctx) {
                                    reads++;
                                    ctx.read();
                                }

                                @Override
                                public void flush(ChannelHandlerContext ctx) {
                                    flushes++;
                                    ctx.flush();
                                }

                                @Override
                                public void write(
                                        ChannelHandlerContext ctx,
                                        Object msg,
                                        ChannelPromise promise) {
                                    if (!holdWrites) {
                                        ctx.write(msg, promise);
                                        return;
                                    }
                                    // Keeps the bytes, but the write completes only when the
                                    // test says so (as a socket's write completes when the
                                    // kernel takes it).
                                    ChannelPromise taken = ctx.newPromise();
                                    ctx.write(msg, taken);
                                    heldWrites.add(promise);
                                }
                            });
        }

        /** A FIN arrives, as a socket reports it: input shut, then the event. */
        void receiveFin() {
            inputShutdown = true;
            pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            runPendingTasks();
        }

        /** Crosses the high-water mark (or drains below the low one); netty tells the pipeline. */
        void writable(boolean writable) {
            unsafe().outboundBuffer().setUserDefinedWritability(1, writable);
            runPendingTasks(); // the writability event is fired as a task
            assertEquals(writable, isWritable());
        }

        String written() {
            StringBuilder sb = new StringBuilder();
            for (ByteBuf b; (b = readOutbound()) != null; ) {
                sb.append(b.toString(StandardCharsets.US_ASCII));
                b.release();
            }
            return sb.toString();
        }

        @Override
        public boolean isInputShutdown() {
            return inputShutdown;
        }

        @Override
        public ChannelFuture shutdownInput() {
            return shutdownInput(newPromise());
        }

        @Override
        public ChannelFuture shutdownInput(ChannelPromise promise) {
            inputShutdown = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isOutputShutdown() {
            return outputShutdown;
        }

        @Override
        public ChannelFuture shutdownOutput() {
            return shutdownOutput(newPromise());
        }

        @Override
        public ChannelFuture shutdownOutput(ChannelPromise promise) {
            outputShutdown = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isShutdown() {
            return inputShutdown && outputShutdown;
        }

        @Override
        public ChannelFuture shutdown() {
            return shutdown(newPromise());
        }

        @Override
        public ChannelFuture shutdown(ChannelPromise promise) {
            inputShutdown = true;
            outputShutdown = true;
            return promise.setSuccess();
        }
    }

    final Duplex a = new Duplex();
    final Duplex b = new Duplex();

    void join() {
        SpliceHandler.join(a, b);
        a.runPendingTasks();
        b.runPendingTasks();
    }

    /** A chunk arrives on {@code ch} in a read burst of its own; then the loop turn ends. */
    void send(EmbeddedChannel ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        a.runPendingTasks(); // the splice flushes its peer at the end of the turn
        b.runPendingTasks();
    }

    /** The two channels, from the side that half-closes first. */
    Duplex[] from(boolean aFirst) {
        return aFirst ? new Duplex[] {a, b} : new Duplex[] {b, a};
    }

    @Test
    void joiningStartsReadingOnBothAndBytesCrossBothWays() {
        join();
        assertEquals(1, a.reads);
        assertEquals(1, b.reads);
        send(a, "to b");
        send(b, "to a");
        assertEquals("to b", b.written());
        assertEquals("to a", a.written());
        // Each chunk asked for the next one, as the peer was still writable.
        assertEquals(2, a.reads);
        assertEquals(2, b.reads);
    }

    @Test
    void aReadBurstIsFlushedOnceAtTheEndOfTheLoopTurn() {
        join();
        int before = b.flushes;
        for (String chunk : new String[] {"one ", "two ", "three"}) {
            a.pipeline().fireChannelRead(Unpooled.copiedBuffer(chunk, StandardCharsets.US_ASCII));
        }
        assertEquals("", b.written(), "nothing leaves before the burst is over");
        assertEquals(before, b.flushes);
        a.pipeline().fireChannelReadComplete();
        assertEquals(before, b.flushes, "flushed when the loop turn ends");
        b.runPendingTasks(); // the turn ends
        assertEquals(before + 1, b.flushes, "one flush for the burst");
        assertEquals("one two three", b.written());
    }

    @Test
    void aFinAfterABurstFlushesTheBurstFirst() {
        join();
        a.pipeline().fireChannelRead(Unpooled.copiedBuffer("last", StandardCharsets.US_ASCII));
        a.receiveFin(); // no read-complete in between
        assertEquals("last", b.written());
        assertTrue(b.isOutputShutdown(), "the FIN followed the bytes");
    }

    @ParameterizedTest(name = "first FIN on a: {0}")
    @ValueSource(booleans = {true, false})
    void aFinIsPassedOnAsAHalfCloseAndTheOtherDirectionKeepsFlowing(boolean aFirst) {
        Duplex first = from(aFirst)[0];
        Duplex second = from(aFirst)[1];
        join();
        send(first, "request");
        first.receiveFin();
        assertEquals("request", second.written());
        assertTrue(second.isOutputShutdown(), "the FIN went on");
        assertFalse(first.isOutputShutdown());
        assertTrue(first.isActive() && second.isActive(), "half-closed, not closed");

        // The other direction still flows, and no read is asked of the side that sent its FIN.
        int readsAfterFin = first.reads;
        send(second, "reply");
        assertEquals("reply", first.written());
        second.writable(false);
        second.writable(true);
        assertEquals(readsAfterFin, first.reads, "no read after a FIN");

        // The second FIN ends both.
        second.receiveFin();
        assertTrue(first.isOutputShutdown());
        assertFalse(first.isActive());
        assertFalse(second.isActive());
    }

    @Test
    void aFinWaitsForTheLastWriteToComplete() {
        join();
        b.holdWrites = true;
        send(a, "last bytes");
        a.receiveFin();
        assertFalse(b.isOutputShutdown(), "no FIN while the last write is still in flight");
        b.heldWrites.remove().setSuccess();
        assertTrue(b.isOutputShutdown());
        assertEquals("last bytes", b.written());
        assertTrue(a.isActive() && b.isActive());
    }

    @ParameterizedTest(name = "closing a: {0}")
    @ValueSource(booleans = {true, false})
    void eitherSideClosingClosesBoth(boolean closeA) {
        Duplex closing = from(closeA)[0];
        Duplex other = from(closeA)[1];
        join();
        closing.close();
        other.runPendingTasks();
        assertFalse(other.isActive());
    }

    @ParameterizedTest(name = "error on a: {0}")
    @ValueSource(booleans = {true, false})
    void anErrorOnOneSideEndsBoth(boolean onA) {
        Duplex failing = from(onA)[0];
        Duplex other = from(onA)[1];
        join();
        failing.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));
        assertFalse(other.isActive());
        assertFalse(failing.isActive());
    }

    @ParameterizedTest(name = "write to b fails: {0}")
    @ValueSource(booleans = {true, false})
    void aFailedWriteToThePeerEndsBoth(boolean toB) {
        Duplex source = from(!toB)[0];
        Duplex target = from(!toB)[1];
        join();
        target.holdWrites = true;
        send(source, "doomed");
        target.heldWrites.remove().setFailure(new IOException("Broken pipe"));
        assertFalse(source.isActive());
        assertFalse(target.isActive());
    }

    @ParameterizedTest(name = "b slow: {0}")
    @ValueSource(booleans = {true, false})
    void readsStopWhileThePeerIsNotWritableAndResumeWhenItIs(boolean bSlow) {
        Duplex source = from(bSlow)[0];
        Duplex slow = from(bSlow)[1];
        join();
        slow.writable(false);
        int before = source.reads;
        send(source, "one chunk");
        assertEquals("one chunk", slow.written());
        assertEquals(before, source.reads, "no read while the peer is over its high-water mark");
        // The other direction is unaffected.
        int slowReads = slow.reads;
        send(slow, "back");
        assertEquals(slowReads + 1, slow.reads);

        assertEquals("back", source.written());

        slow.writable(true);
        assertEquals(before + 1, source.reads, "the drained peer resumed its source");
    }
}
