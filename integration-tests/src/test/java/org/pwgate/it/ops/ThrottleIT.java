package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/**
 * Failed-login throttling is per (user, address) and per address: an attacker guessing app's
 * password from 127.0.0.2 is slowed down; app itself, from 127.0.0.1, is not. Both addresses are
 * local on Linux (all of 127.0.0.0/8 is loopback); pgjdbc binds its side with localSocketAddress.
 */
class ThrottleIT {
    static final String ATTACKER = "127.0.0.2";
    static final String LEGITIMATE = "127.0.0.1";
    static int adminPort;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        adminPort = Ops.freePort();
        String yaml = PwgateHarness.baseYaml(false);
        String limits = "max_message_size: 256MiB }";
        assertTrue(yaml.contains(limits));
        pwgate = PwgateHarness.startYaml(yaml.replace(limits,
                "max_message_size: 256MiB, failed_login: { limit: 2, window: 60s, delay: 1s } }") + Ops.adminYaml(adminPort));
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    /** Logs in as app from {@code from}; returns how long the answer took, in ms; throws on refusal. */
    static long login(String from, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", PwgateHarness.APP);
        p.setProperty("password", password);
        p.setProperty("localSocketAddress", from);
        p.setProperty("connectTimeout", "30");
        long t0 = System.nanoTime();
        try (Connection c = DriverManager.getConnection(pwgate.url("postgres", ""), p)) {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        }
    }

    /** A failed login from {@code from}: the time until the 28P01 came back, in ms. */
    static long failedLogin(String from) {
        long t0 = System.nanoTime();
        SQLException e = assertThrows(SQLException.class, () -> login(from, "guess"));
        assertEquals("28P01", e.getSQLState(), e.getMessage());
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void theAttackerIsDelayedAndTheUserFromAnotherAddressIsNot() throws Exception {
        login(LEGITIMATE, PwgateHarness.APP_PASSWORD); // warm up the driver and the server
        double delaysBefore = Ops.metric(adminPort, "pwgate_login_throttle_delays_total");
        List<Long> attacker = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            attacker.add(failedLogin(ATTACKER));
        }
        // limit 2: the first two answer at once, then 1 s, 2 s, 3 s.
        assertTrue(attacker.get(0) < 900 && attacker.get(1) < 900, attacker.toString());
        assertTrue(attacker.get(2) >= 950, attacker.toString());
        assertTrue(attacker.get(3) >= 1950, attacker.toString());
        assertTrue(attacker.get(4) >= 2950, attacker.toString());

        // app, from its own address, right after: full speed, and a typo of its own is not delayed.
        assertTrue(login(LEGITIMATE, PwgateHarness.APP_PASSWORD) < 900);
        assertTrue(failedLogin(LEGITIMATE) < 900);
        assertTrue(login(LEGITIMATE, PwgateHarness.APP_PASSWORD) < 900);

        // Only failures wait: the right password gets in at once even from the attacker's address.
        assertTrue(login(ATTACKER, PwgateHarness.APP_PASSWORD) < 900);

        assertEquals(3, Ops.metric(adminPort, "pwgate_login_throttle_delays_total") - delaysBefore);
    }
}
