package org.pwgate.proxy.metrics;

import java.util.function.LongSupplier;

/**
 * One session's round trips, as the client sees them: each Query, Sync or FunctionCall the client
 * sends is answered by exactly one ReadyForQuery (an error in extended mode skips to the Sync, whose
 * ReadyForQuery still comes), so a FIFO of send times paired with ReadyForQuery gives each round
 * trip's latency, and an empty FIFO means no query is in flight.
 *
 * <pre>
 *   client Query/Sync/FunctionCall --> requestSent()        push now
 *   ReadyForQuery to the client    --> readyForQuery(status) pop, record now - then
 * </pre>
 *
 * The ReadyForQuery that ends the startup answers nothing and is not timed. Pipelined requests
 * each count from their own send, so a pipeline's later round trips include queueing behind the
 * earlier ones, which is the latency the client experiences.
 *
 * <p>At most {@link #MAX_IN_FLIGHT} send times are kept; beyond that the oldest is dropped untimed.
 * The relay stops reading a client long before in normal pipelines; the cap is for what its
 * count does not see (a client's Syncs during COPY IN, which the server ignores and never
 * answers, or a session whose gate has lost track).
 *
 * <p>Confined to the session's event loop, except {@link #isIdle()}, which any thread may call
 * (the shutdown coordinator does).
 */
public final class QueryTracker {
    static final int MAX_IN_FLIGHT = 65_536;

    private final PwgateMetrics metrics;
    private final LongSupplier nanoTime;
    private long[] sent = new long[8];
    private int head;
    private int size;
    private byte status = 'I';
    private volatile boolean idle = true;

    public QueryTracker(PwgateMetrics metrics) {
        this(metrics, System::nanoTime);
    }

    QueryTracker(PwgateMetrics metrics, LongSupplier nanoTime) {
        this.metrics = metrics;
        this.nanoTime = nanoTime;
    }

    /** The client sent a Query, Sync or FunctionCall (once it is forwarded). */
    public void requestSent() {
        if (size == MAX_IN_FLIGHT) {
            head = (head + 1) % sent.length;
            size--;
        }
        if (size == sent.length) {
            long[] bigger = new long[sent.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = sent[(head + i) % sent.length];
            }
            sent = bigger;
            head = 0;
        }
        sent[(head + size) % sent.length] = nanoTime.getAsLong();
        size++;
        idle = false;
    }

    /** A ReadyForQuery went to the client; {@code status} is its 'I', 'T' or 'E'. */
    public void readyForQuery(byte status) {
        this.status = status;
        if (size > 0) {
            long start = sent[head];
            head = (head + 1) % sent.length;
            size--;
            metrics.recordRoundTrip(nanoTime.getAsLong() - start);
        }
        idle = size == 0 && status == 'I';
    }

    /**
     * True when nothing the client sent awaits its ReadyForQuery and the session is outside a
     * transaction block: ending it now loses no work. A session idle inside a transaction is not
     * idle here, because closing it would roll back work the client means to commit.
     */
    public boolean isIdle() {
        return idle;
    }

    /** The last ReadyForQuery status: 'I', 'T' or 'E'. */
    public byte transactionStatus() {
        return status;
    }

    /** Round trips in flight. */
    public int inFlight() {
        return size;
    }
}
