package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;
import org.pwgate.it.support.Cancels;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;

/** The relay, end to end: pgjdbc through pwgate to a real PostgreSQL, restriction off. */
class RelayIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(false);
        pwgate.adminExecute("DROP TABLE IF EXISTS relay_t", "CREATE TABLE relay_t (id int PRIMARY KEY, v text)",
                "GRANT ALL ON relay_t TO app", "GRANT CREATE ON SCHEMA public TO app");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    @Test
    void simpleQueryModeRunsQueries() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "preferQueryMode=simple");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1 AS one, 'x' || 'y' AS xy; ")) {
            assertTrue(rs.next());
            assertEquals(1, rs.getInt(1));
            assertEquals("xy", rs.getString(2));
        }
    }

    @Test
    void extendedAndServerPreparedStatementsRunRepeatedly() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "prepareThreshold=1");
             PreparedStatement ps = c.prepareStatement("SELECT ?::int * 2, current_user")) {
            for (int i = 0; i < 10; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(i * 2, rs.getInt(1));
                    assertEquals("app", rs.getString(2));
                }
            }
        }
    }

    @Test
    void batchesArePipelinedAndAllApplied() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("DELETE FROM relay_t WHERE id BETWEEN 1000 AND 1999");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO relay_t VALUES (?, ?)")) {
                for (int i = 1000; i < 1500; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "v" + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                assertEquals(500, counts.length);
            }
            c.commit();
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM relay_t WHERE id BETWEEN 1000 AND 1999")) {
                rs.next();
                assertEquals(500, rs.getInt(1));
            }
        }
    }

    @Test
    void copyInAndOutThroughCopyManager() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            try (Statement s = c.createStatement()) {
                s.execute("DELETE FROM relay_t WHERE id BETWEEN 2000 AND 2999");
            }
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder in = new StringBuilder();
            for (int i = 2000; i < 3000; i++) {
                in.append(i).append('\t').append("row ").append(i).append('\n');
            }
            long copied = copy.copyIn("COPY relay_t FROM STDIN", new StringReader(in.toString()));
            assertEquals(1000, copied);
            StringWriter out = new StringWriter();
            copy.copyOut("COPY (SELECT * FROM relay_t WHERE id BETWEEN 2000 AND 2999 ORDER BY id) TO STDOUT", out);
            assertEquals(in.toString(), out.toString());
        }
    }

    /** Some 15 MB of CopyData each way: cut by many reads, passed on as runs of bytes, nothing lost or reordered. */
    @Test
    void aLargeCopyInAndOutArriveWhole() throws Exception {
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 300_000; i++) {
            in.append(i).append('\t').append(Integer.toHexString(i * 7919)).append("x".repeat(i % 53)).append('\n');
        }
        String text = in.toString();
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE relay_copy_t (id int, v text)");
            }
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            assertEquals(300_000, copy.copyIn("COPY relay_copy_t FROM STDIN", new StringReader(text)));
            StringWriter out = new StringWriter();
            copy.copyOut("COPY (SELECT * FROM relay_copy_t ORDER BY id) TO STDOUT", out);
            String back = out.toString();
            assertEquals(text.length(), back.length());
            assertTrue(text.equals(back), "COPY out through pwgate differs from what went in");
        }
        try (Connection admin = pwgate.admin()) {
            StringWriter stored = new StringWriter();
            admin.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT * FROM relay_copy_t ORDER BY id) TO STDOUT", stored);
            assertTrue(text.equals(stored.toString()), "the backend did not store what went in through pwgate");
        } finally {
            pwgate.adminExecute("DROP TABLE relay_copy_t");
        }
    }

    /**
     * Past a megabyte, pwgate reads a COPY in 32 KiB marks (relay.BulkReads); rows that arrive
     * below the mark when PostgreSQL pauses must still go on at once, not wait for more data.
     */
    @Test
    @Timeout(20)
    void rowsOfALargeCopyOutAreNotHeldBackWhileTheBackendPauses() throws Exception {
        int pauseAt = 30_000;
        int total = 40_000;
        long[] arrived = new long[total + 1];
        int[] rows = {0};
        // Each CopyData is one row, written to the stream as it is read: the stamps are cheap, so
        // the client keeps up with PostgreSQL and pwgate is not held up by a full socket.
        OutputStream stamps = new OutputStream() {
            @Override
            public void write(int b) {
                throw new UnsupportedOperationException("rows come whole");
            }

            @Override
            public void write(byte[] b, int off, int len) {
                arrived[++rows[0]] = System.nanoTime();
            }
        };
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            // ~100 bytes a row, so 3 MB, then a one-second pause while PostgreSQL computes row
            // 30,000, then 1 MB more. Short sleeps keep PostgreSQL slower than the client, so
            // pwgate is never held up by a full socket to the client (when it is, it reads what
            // is waiting as the client catches up, mark or not).
            long copied = c.unwrap(PGConnection.class).getCopyAPI().copyOut(
                    "COPY (SELECT g, CASE WHEN g = " + pauseAt + " THEN pg_sleep(1)::text"
                            + " WHEN g % 100 = 0 THEN pg_sleep(0.0002)::text ELSE '' END || repeat('x', 90)"
                            + " FROM generate_series(1, " + total + ") g) TO STDOUT", stamps);
            assertEquals(total, copied);
            assertEquals(total, rows[0]);
        }
        int lastBeforePause = 1;
        for (int i = 2; i <= total; i++) {
            if (arrived[i] - arrived[i - 1] > arrived[lastBeforePause + 1] - arrived[lastBeforePause]) {
                lastBeforePause = i - 1;
            }
        }
        assertTrue(arrived[lastBeforePause + 1] - arrived[lastBeforePause] > TimeUnit.MILLISECONDS.toNanos(500),
                "no pause of the backend seen by the client");
        // PostgreSQL's 8 KiB send buffer keeps at most the last 80 rows before the pause; every
        // row it sent before pausing must reach the client before the pause ends.
        assertTrue(lastBeforePause >= pauseAt - 100,
                "the client got only " + lastBeforePause + " rows before the backend's pause at row " + pauseAt
                        + ": pwgate held back what the backend had sent");
    }

    @Test
    void aHundredMegabyteByteaGoesBothWays() throws Exception {
        byte[] big = new byte[100 * 1024 * 1024];
        new Random(42).nextBytes(big);
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE blob_t (b bytea)");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO blob_t VALUES (?)")) {
                ps.setBinaryStream(1, new ByteArrayInputStream(big), big.length);
                assertEquals(1, ps.executeUpdate());
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT b, length(b) FROM blob_t")) {
                assertTrue(rs.next());
                assertEquals(big.length, rs.getInt(2));
                assertArrayEquals(big, rs.getBytes(1));
            }
        }
    }

    @Test
    void listenNotifyAndNoticesReachTheClient() throws Exception {
        try (Connection listener = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             Connection notifier = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)) {
            try (Statement s = listener.createStatement()) {
                s.execute("LISTEN pwgate_channel");
            }
            try (Statement s = notifier.createStatement()) {
                s.execute("NOTIFY pwgate_channel, 'hello through pwgate'");
                s.execute("DO $$BEGIN RAISE NOTICE 'a notice'; END$$");
                assertNotNull(s.getWarnings());
                assertTrue(s.getWarnings().getMessage().contains("a notice"));
            }
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(5000);
            assertNotNull(got);
            assertEquals(1, got.length);
            assertEquals("pwgate_channel", got[0].getName());
            assertEquals("hello through pwgate", got[0].getParameter());
        }
    }

    @Test
    void cancelStopsALongQueryWithinTwoSeconds() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             Statement s = c.createStatement()) {
            Cancels.assertStatementCancelStopsASleep(s);
        }
    }

    @Test
    void aCancelHasReachedTheBackendWhenItsConnectionCloses() throws Exception {
        // libpq and pgjdbc wait for the server to close the cancel connection before they go on,
        // so that a late cancel cannot hit the statement they send next. PostgreSQL closes it once
        // it has signalled the backend, and an idle backend drops the signal: a cancel for an idle
        // session, waited for, must leave the next statement alone. Ten rounds, because a cancel
        // that is still on its way lands in the sleep by chance, if often.
        try (RawPg c = RawPg.connect(pwgate.port())) {
            RawPg.Msg key = c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of()).stream()
                    .filter(m -> m.tag() == 'K').findFirst().orElseThrow();
            for (int round = 0; round < 10; round++) {
                try (RawPg cancel = RawPg.connect(pwgate.port())) {
                    cancel.send(RawPg.cancelRequest(key));
                    assertEquals(List.of(), cancel.readToEnd(5_000), "pwgate answers a cancel with nothing");
                }
                c.send(RawPg.query("SELECT pg_sleep(0.05)"));
                List<RawPg.Msg> answer = c.readUntil(m -> m.tag() == 'Z', 10_000);
                assertFalse(answer.stream().anyMatch(RawPg.Msg::isError), "round " + round + ": " + answer);
            }
        }
    }

    @Test
    void aBackendTerminatedMidQueryGivesAnErrorNotAHang() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD,
                "ApplicationName=victim&socketTimeout=20");
             Statement s = c.createStatement()) {
            CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(700);
                    pwgate.adminExecute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            + "WHERE application_name = 'victim'");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long t0 = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT pg_sleep(30)"));
            killer.get(5, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 5000, "took " + ms + " ms");
            assertTrue(e.getSQLState() != null && (e.getSQLState().startsWith("57") || e.getSQLState().startsWith("08")),
                    e.getSQLState() + " " + e.getMessage());
            assertTrue(c.isClosed() || !c.isValid(2));
        }
    }

    @Test
    void twoHundredConcurrentConnectionsAreAllServed() throws Exception {
        int n = 200;
        ExecutorService pool = Executors.newFixedThreadPool(50);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                results.add(pool.submit(() -> {
                    try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
                         PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                        ps.setInt(1, id);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            return rs.getInt(1);
                        }
                    }
                }));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(i + 1, results.get(i).get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void startupParametersReachTheBackendAndPasswordsAreStoredAsMd5() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD,
                "ApplicationName=pwgate-it&options=-c%20search_path%3Dpg_catalog");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_setting('application_name'), current_setting('search_path'), "
                     + "current_setting('password_encryption')")) {
            assertTrue(rs.next());
            assertEquals("pwgate-it", rs.getString(1));
            assertEquals("pg_catalog", rs.getString(2));
            assertEquals("md5", rs.getString(3));
        }
    }

    @Test
    void aClientThatDisconnectsLeavesNoBackendSession() throws Exception {
        Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "ApplicationName=leaver");
        try (Statement s = c.createStatement()) {
            s.execute("SELECT 1");
        }
        c.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int left;
        do {
            try (Connection a = pwgate.admin(); Statement s = a.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leaver'")) {
                rs.next();
                left = rs.getInt(1);
            }
            if (left > 0) {
                Thread.sleep(100);
            }
        } while (left > 0 && System.nanoTime() < deadline);
        assertEquals(0, left);
    }

    @Test
    void unicodeTextSurvivesTheRoundTrip() throws Exception {
        String text = "grüße, 日本語, emoji \uD83D\uDE00";
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             PreparedStatement ps = c.prepareStatement("SELECT ?::text, octet_length(?::text)")) {
            ps.setString(1, text);
            ps.setString(2, text);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(text, rs.getString(1));
                assertEquals(text.getBytes(StandardCharsets.UTF_8).length, rs.getInt(2));
            }
        }
        assertFalse(text.isEmpty());
    }
}
