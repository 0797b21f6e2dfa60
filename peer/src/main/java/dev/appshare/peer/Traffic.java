package dev.appshare.peer;

import dev.appshare.wire.net.SpliceHandler;
import io.netty.channel.Channel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes a peer's connections moved each way and how many are open, for the status line: the
 * closed connections' totals plus what each open splice has counted so far. Read from any thread;
 * the splices count on their own loops, and nothing is added to their hot path.
 */
public final class Traffic {
    private final AtomicLong closedOut = new AtomicLong();
    private final AtomicLong closedIn = new AtomicLong();
    private final Set<Open> open = ConcurrentHashMap.newKeySet();

    private record Open(SpliceHandler out, SpliceHandler in) {}

    /**
     * Counts one spliced connection until {@code until} closes: {@code out} moves this peer's bytes
     * to the other peer, {@code in} the other way.
     */
    public void track(Channel until, SpliceHandler out, SpliceHandler in) {
        Open o = new Open(out, in);
        open.add(o);
        until.closeFuture()
                .addListener(
                        f -> {
                            if (open.remove(o)) {
                                closedOut.addAndGet(out.bytes());
                                closedIn.addAndGet(in.bytes());
                            }
                        });
    }

    public long bytesOut() {
        long n = closedOut.get();
        for (Open o : open) n += o.out().bytes();
        return n;
    }

    public long bytesIn() {
        long n = closedIn.get();
        for (Open o : open) n += o.in().bytes();
        return n;
    }

    public int connections() {
        return open.size();
    }
}
