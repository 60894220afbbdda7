package org.pwgate.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** pgjdbc's Statement.cancel() of a running query, as issue 2 asks for it. */
public final class Cancels {
    private Cancels() {}

    /**
     * Runs {@code SELECT pg_sleep(30)} on {@code s}, cancels it from another thread after 500 ms,
     * and checks that it ends with 57014 within 2.5 s of its start and that the session still
     * answers afterwards.
     */
    public static void assertStatementCancelStopsASleep(Statement s) throws Exception {
        CompletableFuture<Void> canceller = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(500);
                s.cancel();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long t0 = System.nanoTime();
        SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT pg_sleep(30)"));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        canceller.get(5, TimeUnit.SECONDS);
        assertEquals("57014", e.getSQLState(), e.getMessage());
        assertTrue(ms < 2500, "cancel took " + ms + " ms");
        try (ResultSet rs = s.executeQuery("SELECT 42")) {
            assertTrue(rs.next());
            assertEquals(42, rs.getInt(1), "the session stays usable after a cancel");
        }
    }
}
