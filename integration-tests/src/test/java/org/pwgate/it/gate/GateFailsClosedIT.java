package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;
import org.pwgate.it.support.StreamedRow;
import java.util.Map;

/**
 * Where the gate cannot decide, it refuses: a client that uses the names the gate reserves for
 * its guard loses its session, with a FATAL; a text too complex to classify is refused with
 * 54001, to superusers too, without holding up the other sessions.
 */
class GateFailsClosedIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(true);
    }

    @AfterAll
    static void stop() throws Exception {
        pwgate.close();
    }

    @Test
    void aClientStatementNamedLikeTheGuardEndsTheSession() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            assertEquals('Z', last(c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of())).tag());
            c.send(RawPg.concat(RawPg.parse("pwgate_guard", "SELECT 1"), RawPg.sync()));
            RawPg.Msg m = c.read(5000);
            assertEquals('E', m.tag(), m.toString());
            assertEquals("FATAL", m.field('S'));
            assertEquals("08P01", m.field('C'));
            c.readToEnd(5000); // and the server closes the connection
        }
        // Other sessions are unaffected.
        try (RawPg c = RawPg.connect(pwgate.port())) {
            assertEquals('Z', last(c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of())).tag());
            c.send(RawPg.query("SELECT 1"));
            assertEquals('T', c.read(5000).tag());
        }
    }

    @Test
    void aGuardNameSentWhileAStreamedRowIsOnItsWayEndsTheSessionWithoutCorruptingTheRow() throws Exception {
        // The client has the first part of a 200 MB row when it breaks the rule: the FATAL would
        // be read as more of the row, so the session ends with the close alone.
        try (RawPg c = RawPg.connect(pwgate.port()); Connection admin = pwgate.admin()) {
            StreamedRow.startAndBlock(c, admin, "gate_mid_row");
            c.send(RawPg.concat(RawPg.parse("pwgate_guard", "SELECT 1"), RawPg.sync()));
            StreamedRow.assertCutByTheCloseAlone(c);
        }
    }

    private static RawPg.Msg last(java.util.List<RawPg.Msg> msgs) {
        return msgs.get(msgs.size() - 1);
    }

    @Test
    void aTextBuiltToMakeTheClassifierQuadraticIsRefusedAndOthersAreServedMeanwhile() throws Exception {
        // 6.6 MB of role-statement openings with no ';' in a literal: before the classifier's
        // budget this held pwgate's event loop, and so every session on it, for hours.
        String sql = "SELECT length('" + "alter role x password ".repeat(300_000) + "')";
        try (Connection admin = pwgate.connect(PwgateHarness.ADMIN, PwgateHarness.ADMIN_PASSWORD);
             Connection other = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             Statement big = admin.createStatement();
             Statement small = other.createStatement()) {
            CompletableFuture<SQLException> refused = CompletableFuture.supplyAsync(
                    () -> assertThrows(SQLException.class, () -> big.execute(sql)));
            long worst = 0;
            while (!refused.isDone()) {
                long t0 = System.nanoTime();
                assertTrue(small.execute("SELECT 1"));
                worst = Math.max(worst, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            }
            SQLException e = refused.get(60, TimeUnit.SECONDS);
            assertEquals("54001", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("too complex"), e.getMessage());
            assertTrue(worst < 5_000, "another session waited " + worst + " ms for SELECT 1");
            // The extended protocol: the guard refuses at Execute.
            try (var ps = admin.prepareStatement(sql)) {
                SQLException ext = assertThrows(SQLException.class, ps::execute);
                assertEquals("54001", ext.getSQLState(), ext.getMessage());
            }
            // Both sessions go on.
            assertTrue(big.execute("SELECT 1"));
            assertTrue(small.execute("SELECT 1"));
        }
    }
}
