package org.pwgate.it.support;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

/** What a backend is doing, from pg_stat_activity, for tests that must wait for a state. */
public final class PgActivity {
    private PgActivity() {}

    /**
     * Waits until the backend of the session named {@code application} blocks writing to pwgate
     * ("ClientWrite", for half a second) or has finished its query ("idle"), which it returns;
     * fails after 60 s. The session must not have run a query before (RawPg's do not).
     */
    public static String awaitSendingDone(Connection admin, String application) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int writing = 0; // polls in a row that found it waiting to write: a brief wait is no block
        while (System.nanoTime() < deadline) {
            try (Statement s = admin.createStatement();
                 ResultSet rs = s.executeQuery("SELECT state, wait_event, query FROM pg_stat_activity"
                         + " WHERE application_name = '" + application + "'")) {
                if (rs.next()) {
                    if ("idle".equals(rs.getString(1)) && !rs.getString(3).isEmpty()) { // not before the query
                        return "idle";
                    }
                    writing = "ClientWrite".equals(rs.getString(2)) ? writing + 1 : 0;
                    if (writing == 10) {
                        return "ClientWrite";
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the backend of " + application + " never finished sending or blocked");
    }
}
