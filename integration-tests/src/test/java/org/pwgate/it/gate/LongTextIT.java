package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;

/**
 * Texts long enough that the gate analyses them off the event loop (a quarter of a megabyte and
 * more): the verdicts are the gate's usual ones, and what the client pipelined behind such a text
 * reaches the backend after it, in order, while the session's earlier answers keep flowing.
 */
class LongTextIT {
    /** Over the threshold with room to spare, whatever the statement around it. */
    static final String PADDING = "x".repeat(1 << 20);
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(true);
        GateRoles.create(pwgate);
    }

    @AfterAll
    static void stop() throws Exception {
        pwgate.close();
    }

    @AfterEach
    void reset() throws SQLException {
        try (Connection admin = pwgate.admin()) {
            GateRoles.reset(admin);
        }
    }

    private static Connection as(String user, String params) throws SQLException {
        return pwgate.connect(user, GateRoles.password(user), params);
    }

    @Test
    void aPasswordCommandBehindALongStatementIsRefusedToANonMemberAndAllowedToAMember() throws Exception {
        String sql = "SELECT length('" + PADDING + "'); ALTER ROLE victim PASSWORD 'changed-pw'";
        for (String mode : List.of("preferQueryMode=simple", "preferQueryMode=extended")) {
            String before;
            try (Connection admin = pwgate.admin()) {
                before = GateRoles.snapshot(admin);
            }
            try (Connection c = as(GateRoles.NON_MEMBER, mode); Statement s = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> s.execute(sql), mode);
                assertEquals("42501", e.getSQLState(), mode + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("must be a member of rds_password to alter passwords"),
                        mode + ": " + e.getMessage());
                assertTrue(s.execute("SELECT 1"), "the session goes on");
            }
            try (Connection admin = pwgate.admin()) {
                assertEquals(before, GateRoles.snapshot(admin), mode + ": nothing changed");
            }
            try (Connection c = as(GateRoles.MEMBER, mode); Statement s = c.createStatement()) {
                s.execute(sql);
            }
            try (Connection admin = pwgate.admin(); Statement s = admin.createStatement();
                 ResultSet rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'victim'")) {
                assertTrue(rs.next());
                assertEquals(PwgateHarness.md5("changed-pw", "victim"), rs.getString(1), mode + ": the member's change ran");
            }
            reset();
        }
    }

    @Test
    void aLongHarmlessStatementRunsUnchanged() throws Exception {
        String sql = "SELECT length('" + PADDING + "') /* mentions alter role, so it is lexed */";
        for (String mode : List.of("preferQueryMode=simple", "preferQueryMode=extended")) {
            try (Connection c = as(GateRoles.NON_MEMBER, mode); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery(sql)) {
                assertTrue(rs.next());
                assertEquals(PADDING.length(), rs.getInt(1), mode);
            }
        }
    }

    @Test
    void messagesPipelinedBehindALongTextFollowItInOrder() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            List<RawPg.Msg> login = c.login(GateRoles.NON_MEMBER, GateRoles.PASSWORD, Map.of());
            assertEquals('Z', login.get(login.size() - 1).tag());
            // One write: a short query, the long one, then a simple and an extended query behind it,
            // and a long Parse that hides a password change, refused at its Execute.
            c.send(RawPg.concat(
                    RawPg.query("SELECT 1"),
                    RawPg.query("SELECT length('" + PADDING + "') -- alter role"),
                    RawPg.query("SELECT 3"),
                    RawPg.parse("", "SELECT 4"), RawPg.bind("", ""), RawPg.execute(""), RawPg.sync(),
                    RawPg.parse("", "ALTER ROLE victim PASSWORD 'changed-pw' /* " + PADDING + " */"),
                    RawPg.bind("", ""), RawPg.execute(""), RawPg.sync(),
                    RawPg.query("SELECT 6")));
            assertEquals(List.of("T", "D 1", "C SELECT 1", "Z"), answer(c));
            assertEquals(List.of("T", "D " + PADDING.length(), "C SELECT 1", "Z"), answer(c));
            assertEquals(List.of("T", "D 3", "C SELECT 1", "Z"), answer(c));
            assertEquals(List.of("1", "2", "D 4", "C SELECT 1", "Z"), answer(c));
            assertEquals(List.of("1", "2", "E 42501", "Z"), answer(c));
            assertEquals(List.of("T", "D 6", "C SELECT 1", "Z"), answer(c));
        }
    }

    @Test
    void aCancelWhileTheTextIsStillBeingAnalysedCancelsIt() throws Exception {
        // PostgreSQL, idle, would drop a cancel that comes before the query: pwgate refuses the
        // held query in band instead, with PostgreSQL's 57014. Told apart from a cancel that reached
        // PostgreSQL by the fields: pwgate's refusal carries only S, V, C and M, the server's own
        // errors also F, L and R. The text takes the classifier about its budget, a quarter of a
        // second per reading; a cancel that comes too late (the text refused with 54001, or
        // cancelled by PostgreSQL) is tried again, up to three times.
        String slow = "SELECT length('" + "alter role x password ".repeat(300_000) + "')";
        List<String> outcomes = new java.util.ArrayList<>();
        for (int attempt = 0; attempt < 3 && !outcomes.contains("pwgate 57014"); attempt++) {
            try (RawPg c = RawPg.connect(pwgate.port())) {
                List<RawPg.Msg> login = c.login(GateRoles.NON_MEMBER, GateRoles.PASSWORD, Map.of());
                RawPg.Msg key = login.stream().filter(m -> m.tag() == 'K').findFirst().orElseThrow();
                c.send(RawPg.query(slow));
                Thread.sleep(100); // the text is in; its analysis takes longer
                try (RawPg cancel = RawPg.connect(pwgate.port())) {
                    cancel.send(RawPg.cancelRequest(key));
                }
                List<RawPg.Msg> answer = c.readUntil(m -> m.tag() == 'Z', 60_000);
                RawPg.Msg error = answer.stream().filter(RawPg.Msg::isError).findFirst().orElseThrow(
                        () -> new AssertionError("no error: " + answer));
                outcomes.add((error.field('R') == null ? "pwgate " : "postgres ") + error.sqlState());
                if (error.field('R') == null && "57014".equals(error.sqlState())) {
                    assertEquals("canceling statement due to user request", error.field('M'));
                }
                c.send(RawPg.query("SELECT 1"));
                assertEquals(List.of("T", "D 1", "C SELECT 1", "Z"), answer(c), "the session goes on");
            }
        }
        assertTrue(outcomes.contains("pwgate 57014"), "outcomes: " + outcomes);
        assertTrue(outcomes.stream().allMatch(o -> o.equals("pwgate 57014") || o.equals("pwgate 54001")
                || o.equals("postgres 57014")), "outcomes: " + outcomes);
    }

    /** The messages up to the next ReadyForQuery, each as its tag, a DataRow with its one value, an error with its SQLSTATE. */
    private static List<String> answer(RawPg c) throws Exception {
        return c.readUntil(m -> m.tag() == 'Z', 30_000).stream().map(LongTextIT::describe).toList();
    }

    private static String describe(RawPg.Msg m) {
        return switch (m.tag()) {
            case 'D' -> "D " + new String(m.body(), 6, RawPg.readInt(m.body(), 2), java.nio.charset.StandardCharsets.UTF_8);
            case 'C' -> "C " + new String(m.body(), 0, m.body().length - 1, java.nio.charset.StandardCharsets.UTF_8);
            case 'E' -> "E " + m.sqlState();
            default -> String.valueOf(m.tag());
        };
    }
}
