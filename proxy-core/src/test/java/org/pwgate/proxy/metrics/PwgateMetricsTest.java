package org.pwgate.proxy.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pwgate.auth.AuthOutcome;
import org.pwgate.classifier.Kind;

class PwgateMetricsTest {
    private final PwgateMetrics metrics = new PwgateMetrics();

    @AfterEach
    void close() {
        metrics.close();
    }

    /** The value of one series in the scrape, e.g. {@code pwgate_guard_injections_total}. */
    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
        if (!m.find()) {
            throw new AssertionError("no series " + series + " in:\n" + scrape);
        }
        return Double.parseDouble(m.group(1));
    }

    @Test
    void everySeriesIsThereAtZeroBeforeAnythingHappens() {
        String s = metrics.scrape();
        assertEquals(0, value(s, "pwgate_client_connections"));
        assertEquals(0, value(s, "pwgate_authentications_total{outcome=\"refused\",reason=\"WRONG_PASSWORD\"}"));
        assertEquals(0, value(s, "pwgate_restricted_statements_total{kind=\"PASSWORD\",verdict=\"refused\"}"));
        assertEquals(0, value(s, "pwgate_config_reloads_total{outcome=\"invalid\"}"));
        assertFalse(s.contains("kind=\"OTHER\""), "OTHER is not a restricted kind");
        assertTrue(s.contains("jvm_memory_used_bytes"), "JVM meters are bound");
    }

    @Test
    void connectionsCountAndGaugesFollowOpenAndClose() {
        metrics.clientAccepted();
        metrics.clientAccepted();
        metrics.clientAccepted();
        metrics.clientClosed();
        metrics.clientRefusedByLimit();
        metrics.backendOpened();
        metrics.backendOpened();
        metrics.backendClosed();
        String s = metrics.scrape();
        assertEquals(2, value(s, "pwgate_client_connections"));
        assertEquals(3, value(s, "pwgate_client_connections_accepted_total"));
        assertEquals(1, value(s, "pwgate_client_connections_refused_total{reason=\"limit\"}"));
        assertEquals(1, value(s, "pwgate_backend_connections"));
    }

    @Test
    void authenticationsAreCountedByOutcomeAndReason() {
        metrics.authAccepted();
        metrics.authAccepted();
        metrics.authRefused(AuthOutcome.Reason.WRONG_PASSWORD);
        metrics.authRefused(AuthOutcome.Reason.UNKNOWN_USER);
        metrics.authRefused(AuthOutcome.Reason.UNKNOWN_USER);
        metrics.authSourceUnavailable();
        metrics.loginThrottled(Duration.ofMillis(1500));
        String s = metrics.scrape();
        assertEquals(2, value(s, "pwgate_authentications_total{outcome=\"accepted\",reason=\"none\"}"));
        assertEquals(1, value(s, "pwgate_authentications_total{outcome=\"refused\",reason=\"WRONG_PASSWORD\"}"));
        assertEquals(2, value(s, "pwgate_authentications_total{outcome=\"refused\",reason=\"UNKNOWN_USER\"}"));
        assertEquals(1, value(s, "pwgate_authentications_total{outcome=\"refused\",reason=\"SOURCE_UNAVAILABLE\"}"));
        assertEquals(1, value(s, "pwgate_login_throttle_delays_total"));
        assertEquals(1.5, value(s, "pwgate_login_throttle_delay_seconds_total"), 1e-9);
    }

    @Test
    void gateVerdictsAndGuardsAreCountedByKind() {
        metrics.restricted(Kind.PASSWORD, false);
        metrics.restricted(Kind.PASSWORD, false);
        metrics.restricted(Kind.RENAME, true);
        metrics.restricted(Kind.OTHER, true);
        metrics.guardInjected();
        metrics.guardInjected();
        metrics.guardInjected();
        String s = metrics.scrape();
        assertEquals(2, value(s, "pwgate_restricted_statements_total{kind=\"PASSWORD\",verdict=\"refused\"}"));
        assertEquals(0, value(s, "pwgate_restricted_statements_total{kind=\"PASSWORD\",verdict=\"allowed\"}"));
        assertEquals(1, value(s, "pwgate_restricted_statements_total{kind=\"RENAME\",verdict=\"allowed\"}"));
        assertEquals(3, value(s, "pwgate_guard_injections_total"));
    }

    @Test
    void bytesAddUpFromManyThreads() throws InterruptedException {
        Thread[] threads = new Thread[4];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() -> {
                for (int j = 0; j < 10_000; j++) {
                    metrics.addBytesIn(3);
                    metrics.addBytesOut(5);
                }
            });
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        String s = metrics.scrape();
        assertEquals(120_000, value(s, "pwgate_client_bytes_total{direction=\"in\"}"));
        assertEquals(200_000, value(s, "pwgate_client_bytes_total{direction=\"out\"}"));
    }

    @Test
    void roundTripsFallIntoTheirBuckets() {
        metrics.recordRoundTrip(TimeUnit.MICROSECONDS.toNanos(300));
        metrics.recordRoundTrip(TimeUnit.MILLISECONDS.toNanos(7));
        metrics.recordRoundTrip(TimeUnit.SECONDS.toNanos(2));
        String s = metrics.scrape();
        assertEquals(3, value(s, "pwgate_query_round_trip_seconds_count"));
        assertEquals(1, value(s, "pwgate_query_round_trip_seconds_bucket{le=\"0.001\"}"));
        assertEquals(2, value(s, "pwgate_query_round_trip_seconds_bucket{le=\"0.01\"}"));
        assertEquals(2, value(s, "pwgate_query_round_trip_seconds_bucket{le=\"1.0\"}"));
        assertEquals(3, value(s, "pwgate_query_round_trip_seconds_bucket{le=\"5.0\"}"));
        assertEquals(3, value(s, "pwgate_query_round_trip_seconds_bucket{le=\"+Inf\"}"));
    }

    @Test
    void reloadsAreCountedByOutcome() {
        metrics.reloaded(PwgateMetrics.Reload.APPLIED);
        metrics.reloaded(PwgateMetrics.Reload.INVALID);
        metrics.reloaded(PwgateMetrics.Reload.INVALID);
        String s = metrics.scrape();
        assertEquals(1, value(s, "pwgate_config_reloads_total{outcome=\"applied\"}"));
        assertEquals(2, value(s, "pwgate_config_reloads_total{outcome=\"invalid\"}"));
        assertEquals(0, value(s, "pwgate_config_reloads_total{outcome=\"error\"}"));
    }
}
