package dev.appshare.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.appshare.peer.PeerException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunnerTest {
    private final List<String> closed = new ArrayList<>();

    private AutoCloseable closing(String name, Exception failure) {
        return () -> {
            closed.add(name);
            if (failure != null) throw failure;
        };
    }

    @Test
    void aCloseThatThrowsLeavesNothingOpenAndReportsTheFirstFailure() {
        Runner run = new Runner();
        IllegalStateException a = new IllegalStateException("a");
        IOException b = new IOException("b");
        run.stop.trigger();
        Exception thrown =
                assertThrows(
                        Exception.class,
                        () ->
                                run.awaitStop(
                                        closing("first", a),
                                        null,
                                        closing("second", b),
                                        closing("third", null)));
        assertEquals(List.of("first", "second", "third"), closed);
        assertTrue(run.group.isShuttingDown(), "the event loops were shut down");
        assertSame(a, thrown);
        assertArrayEquals(new Throwable[] {b}, thrown.getSuppressed());
    }

    @Test
    void theFailureThatStoppedTheCommandComesFirst() {
        Runner run = new Runner();
        PeerException why = new PeerException(1, "name taken");
        IOException b = new IOException("b");
        run.failOn(run.group.next().newFailedFuture(why));
        Exception thrown = assertThrows(Exception.class, () -> run.awaitStop(closing("x", b)));
        assertEquals(List.of("x"), closed);
        assertTrue(run.group.isShuttingDown());
        assertSame(why, thrown);
        assertArrayEquals(new Throwable[] {b}, thrown.getSuppressed());
    }

    @Test
    void aCleanStopReturnsZero() throws Exception {
        Runner run = new Runner();
        run.stop.trigger();
        assertEquals(0, run.awaitStop(closing("x", null)));
        assertEquals(List.of("x"), closed);
        assertTrue(run.group.isShuttingDown());
    }
}
