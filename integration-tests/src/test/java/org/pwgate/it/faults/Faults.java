package org.pwgate.it.faults;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.pwgate.it.support.PwgateHarness;

/** Small shared checks for the fault tests: what pg_stat_activity says, with deadlines. */
final class Faults {
    private Faults() {}

    /** Client backends matching {@code where} (SQL over pg_stat_activity), seen directly on the backend. */
    static int backendCount(Connection admin, String where) throws SQLException {
        try (Statement s = admin.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
                     + where)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Waits until the count matches; fails with the last count after {@code timeoutMs}. */
    static long awaitBackendCount(PwgateHarness pwgate, String where, int expected, long timeoutMs) throws Exception {
        try (Connection a = pwgate.admin()) {
            return awaitBackendCount(a, where, expected, timeoutMs);
        }
    }

    static long awaitBackendCount(Connection admin, String where, int expected, long timeoutMs) throws Exception {
        long t0 = System.nanoTime();
        long deadline = t0 + timeoutMs * 1_000_000L;
        int n;
        while (true) {
            n = backendCount(admin, where);
            if (n == expected) {
                return (System.nanoTime() - t0) / 1_000_000L;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("pg_stat_activity: " + n + " sessions where " + where + ", expected " + expected
                        + " within " + timeoutMs + " ms");
            }
            Thread.sleep(50);
        }
    }

    /** A plain superuser connection to a backend (trust or password). */
    static Connection direct(String host, int port, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) {
            p.setProperty("password", password);
        }
        p.setProperty("connectTimeout", "5");
        return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/postgres", p);
    }
}
