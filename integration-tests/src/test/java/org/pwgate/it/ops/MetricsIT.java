package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/** /metrics scraped before and after known traffic; the counters moved by exactly that traffic. */
class MetricsIT {
    static int adminPort;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        adminPort = Ops.freePort();
        pwgate = PwgateHarness.start(true, Ops.adminYaml(adminPort));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    static final String ACCEPTED = "pwgate_authentications_total{outcome=\"accepted\",reason=\"none\"}";
    static final String WRONG_PASSWORD = "pwgate_authentications_total{outcome=\"refused\",reason=\"WRONG_PASSWORD\"}";
    static final String UNKNOWN_USER = "pwgate_authentications_total{outcome=\"refused\",reason=\"UNKNOWN_USER\"}";
    static final String PASSWORD_REFUSED = "pwgate_restricted_statements_total{kind=\"PASSWORD\",verdict=\"refused\"}";
    static final String PASSWORD_ALLOWED = "pwgate_restricted_statements_total{kind=\"PASSWORD\",verdict=\"allowed\"}";
    static final String GUARDS = "pwgate_guard_injections_total";
    static final String BYTES_IN = "pwgate_client_bytes_total{direction=\"in\"}";
    static final String BYTES_OUT = "pwgate_client_bytes_total{direction=\"out\"}";
    static final String ROUND_TRIPS = "pwgate_query_round_trip_seconds_count";
    static final String CLIENTS = "pwgate_client_connections";
    static final String BACKENDS = "pwgate_backend_connections";
    static final String ACCEPTED_CONNECTIONS = "pwgate_client_connections_accepted_total";
    static final String ANALYSED_AHEAD = "pwgate_gate_analysis_ahead_seconds_count";

    @Test
    void countersFollowKnownTraffic() throws Exception {
        String before = Ops.scrape(adminPort);

        SQLException wrong = assertThrows(SQLException.class,
                () -> pwgate.connect(PwgateHarness.APP, "not-the-password").close());
        assertEquals("28P01", wrong.getSQLState());
        SQLException unknown = assertThrows(SQLException.class, () -> pwgate.connect("nobody", "x").close());
        assertEquals("28P01", unknown.getSQLState());

        try (Connection master = pwgate.connect(PwgateHarness.MASTER, PwgateHarness.MASTER_PASSWORD);
             Connection app = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            for (int i = 0; i < 5; i++) {
                Ops.execute(app, "SELECT 1");
            }
            SQLException refused = assertThrows(SQLException.class,
                    () -> Ops.execute(app, "ALTER ROLE app PASSWORD '" + PwgateHarness.APP_PASSWORD + "'"));
            assertEquals("42501", refused.getSQLState());
            // The master user is a member of rds_superuser, so of rds_password: allowed.
            Ops.execute(master, "ALTER ROLE postgres PASSWORD '" + PwgateHarness.MASTER_PASSWORD + "'");

            // Two sessions open now, each with its backend.
            Ops.await("gauges at 2", Duration.ofSeconds(5), () -> {
                String s = Ops.scrape(adminPort);
                return Ops.metric(s, CLIENTS) == 2 && Ops.metric(s, BACKENDS) == 2;
            });

            String after = Ops.scrape(adminPort);
            assertEquals(2, delta(before, after, ACCEPTED));
            assertEquals(1, delta(before, after, WRONG_PASSWORD));
            assertEquals(1, delta(before, after, UNKNOWN_USER));
            assertTrue(delta(before, after, ACCEPTED_CONNECTIONS) >= 4, "four logins, each on its own connection");
            assertEquals(1, delta(before, after, PASSWORD_REFUSED));
            assertEquals(1, delta(before, after, PASSWORD_ALLOWED));
            assertEquals(2, delta(before, after, GUARDS));
            assertTrue(delta(before, after, ROUND_TRIPS) >= 7, "5 SELECTs and 2 ALTERs at least");
            assertTrue(delta(before, after, BYTES_IN) > 0);
            assertTrue(delta(before, after, BYTES_OUT) > delta(before, after, BYTES_IN), "results outweigh queries");
            assertTrue(after.contains("pwgate_query_round_trip_seconds_bucket{le=\"0.005\"}"), after);
        }
        Ops.await("gauges back to 0", Duration.ofSeconds(5), () -> {
            String s = Ops.scrape(adminPort);
            return Ops.metric(s, CLIENTS) == 0 && Ops.metric(s, BACKENDS) == 0;
        });
    }

    @Test
    void longTextsAnalysedOffTheEventLoopAreCounted() throws Exception {
        String before = Ops.scrape(adminPort);
        String longText = "SELECT length('" + "x".repeat(1 << 20) + "') -- alter role";
        try (Connection app = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            Ops.execute(app, longText);
            Ops.execute(app, "SELECT 'a short one' -- alter role");
        }
        // The worker records the time after it has handed the result back: wait for it.
        Ops.await("one analysis ahead counted", Duration.ofSeconds(5),
                () -> delta(before, Ops.scrape(adminPort), ANALYSED_AHEAD) == 1);
        String after = Ops.scrape(adminPort);
        assertTrue(Ops.metric(after, "pwgate_gate_analysis_ahead_seconds_sum") > 0, after);
    }

    @Test
    void metricsHoldNoSecretAndNoUserName() throws Exception {
        assertThrows(SQLException.class, () -> pwgate.connect(PwgateHarness.APP, "hunter2-secret").close());
        String s = Ops.scrape(adminPort);
        assertFalse(s.contains("hunter2"));
        assertFalse(s.contains("md5"));
        assertFalse(s.contains("user=\""), "no per-user series");
        assertFalse(s.contains(PwgateHarness.APP_PASSWORD));
    }

    @Test
    void livezAndReadyzAnswer() throws Exception {
        assertEquals(new Ops.Http(200, "ok\n"), Ops.get(adminPort, "/livez"));
        assertEquals(new Ops.Http(200, "ready\n"), Ops.get(adminPort, "/readyz"));
        assertEquals(404, Ops.get(adminPort, "/").status());
    }

    static double delta(String before, String after, String series) {
        return Ops.metric(after, series) - Ops.metric(before, series);
    }
}
