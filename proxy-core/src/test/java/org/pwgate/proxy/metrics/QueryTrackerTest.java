package org.pwgate.proxy.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class QueryTrackerTest {
    private final PwgateMetrics metrics = new PwgateMetrics();
    private final AtomicLong now = new AtomicLong(1_000);
    private final QueryTracker tracker = new QueryTracker(metrics, now::get);

    @AfterEach
    void close() {
        metrics.close();
    }

    private double count() {
        return PwgateMetricsTest.value(metrics.scrape(), "pwgate_query_round_trip_seconds_count");
    }

    private double sumSeconds() {
        return PwgateMetricsTest.value(metrics.scrape(), "pwgate_query_round_trip_seconds_sum");
    }

    @Test
    void theStartupReadyForQueryIsNotARoundTrip() {
        tracker.readyForQuery((byte) 'I');
        assertEquals(0, count());
        assertTrue(tracker.isIdle());
    }

    @Test
    void aQueryIsInFlightUntilItsReadyForQuery() {
        tracker.requestSent();
        assertFalse(tracker.isIdle());
        now.addAndGet(5_000_000);
        tracker.readyForQuery((byte) 'I');
        assertTrue(tracker.isIdle());
        assertEquals(1, count());
        assertEquals(0.005, sumSeconds(), 1e-9);
    }

    @Test
    void atMostMaxInFlightSendTimesAreKeptTheOldestGoUntimed() {
        for (int i = 0; i < QueryTracker.MAX_IN_FLIGHT + 100; i++) {
            tracker.requestSent();
            now.addAndGet(1_000);
        }
        assertEquals(QueryTracker.MAX_IN_FLIGHT, tracker.inFlight());
        tracker.readyForQuery((byte) 'I');
        // Paired with the oldest send time kept: the 101st, 65,536 sends (65.536 ms) ago.
        assertEquals(1, count());
        assertEquals(QueryTracker.MAX_IN_FLIGHT * 1e-6, sumSeconds(), 1e-9);
        while (tracker.inFlight() > 0) {
            tracker.readyForQuery((byte) 'I');
        }
        assertTrue(tracker.isIdle());
        assertEquals(QueryTracker.MAX_IN_FLIGHT, count());
    }

    @Test
    void pipelinedSyncsPairWithTheirReadyForQueryInOrder() {
        for (int i = 0; i < 20; i++) { // past the initial capacity, wrapping the ring
            tracker.requestSent();
            now.addAndGet(1_000_000);
        }
        for (int i = 0; i < 19; i++) {
            tracker.readyForQuery((byte) 'I');
            assertFalse(tracker.isIdle());
        }
        assertEquals(1, tracker.inFlight());
        tracker.readyForQuery((byte) 'I');
        assertTrue(tracker.isIdle());
        assertEquals(20, count());
        // Sent at 0..19 ms before the answers, all answered at +20 ms: (20 + 19 + … + 1) ms.
        assertEquals(0.210, sumSeconds(), 1e-9);
    }

    @Test
    void aSessionInsideATransactionIsNotIdle() {
        tracker.requestSent();
        tracker.readyForQuery((byte) 'T');
        assertFalse(tracker.isIdle());
        assertEquals('T', tracker.transactionStatus());
        tracker.requestSent();
        tracker.readyForQuery((byte) 'E');
        assertFalse(tracker.isIdle());
        tracker.requestSent();
        tracker.readyForQuery((byte) 'I');
        assertTrue(tracker.isIdle());
    }
}
