package dev.appshare.wire.net;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;

/**
 * What a server counts for its operator (exported by the rendezvous module's {@code MetricsServer}
 * as Prometheus metrics): relay bytes and pairs, STUN answers, refusals by server and reason, and
 * handshake latencies. Cheap on hot paths: a {@link LongAdder} add per splice read, a map look-up
 * per refusal (refusals are few, or already rate-limited in the log). Thread-safe; one per server
 * process, and servers that are given none count into a private one nobody reads.
 */
public final class ServerStats {
    /** Bytes the relay's splices moved, both directions together. */
    public final LongAdder relayBytes = new LongAdder();

    /** Relay pairs spliced now. */
    public final LongAdder relayPairs = new LongAdder();

    /** Relay pairs spliced since start. */
    public final LongAdder relayPairsTotal = new LongAdder();

    /**
     * Bytes queued now for the relay's spliced connections and the gateway's visitors (by the size
     * their channels count, a buffer's capacity on the relay): {@link HeldBytesBudget}.
     */
    public final LongAdder heldBytes = new LongAdder();

    /** STUN Binding requests answered. */
    public final LongAdder stunAnswers = new LongAdder();

    private final Map<Refusal, LongAdder> refusals = new ConcurrentHashMap<>();
    private volatile BiConsumer<String, Long> latencies = (stage, nanos) -> {};

    /** A refusal's labels: which server and why (a budget's or a protocol error's short name). */
    public record Refusal(String server, String reason) {}

    /** Counts one refusal; {@code reason} must come from a small fixed set (a metric label). */
    public void refused(String server, String reason) {
        refusals.computeIfAbsent(new Refusal(server, reason), k -> new LongAdder()).increment();
    }

    /** Refusals so far, by server and reason. */
    public Map<Refusal, LongAdder> refusals() {
        return refusals;
    }

    /** Notes how long one handshake {@code stage} took. */
    public void handshake(String stage, long nanos) {
        latencies.accept(stage, nanos);
    }

    /** Where {@link #handshake} observations go (the metrics exporter's histogram). */
    public void onHandshake(BiConsumer<String, Long> sink) {
        latencies = sink;
    }
}
