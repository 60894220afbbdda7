package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.pwgate.it.gate.GateRoles.INHERITED;
import static org.pwgate.it.gate.GateRoles.MEMBER;
import static org.pwgate.it.gate.GateRoles.NON_MEMBER;
import static org.pwgate.it.gate.GateRoles.SUPERUSER;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;
import org.postgresql.util.PSQLException;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;
import org.slf4j.LoggerFactory;

/**
 * Restricted password management end to end: pgjdbc (extended, simple, prepareThreshold=1,
 * batches) and psql through pwgate with {@code rds.restrict_password_commands: 1}, against the
 * embedded PostgreSQL. Every refusal is checked on the client (exact message, SQLSTATE, no
 * CONTEXT) and on the backend (pg_authid and pg_auth_members unchanged).
 */
class PasswordGateIT {
    static final String REFUSAL = "must be a member of rds_password to alter passwords";
    static final List<String> MODES = List.of("", "preferQueryMode=simple", "prepareThreshold=1");
    /** Aurora's restricted forms, plus their USER/GROUP synonyms. */
    static final List<String> FORMS = List.of(
            "CREATE ROLE myrole WITH PASSWORD 'mypassword'",
            "CREATE ROLE myrole WITH PASSWORD 'mypassword' VALID UNTIL '2020-01-01'",
            "ALTER ROLE victim WITH PASSWORD 'mypassword' VALID UNTIL '2020-01-01'",
            "ALTER ROLE victim WITH PASSWORD 'mypassword'",
            "ALTER ROLE victim VALID UNTIL '2020-01-01'",
            "ALTER ROLE victim RENAME TO victim2",
            "ALTER USER victim WITH ENCRYPTED PASSWORD 'mypassword'",
            "CREATE GROUP mygroup WITH PASSWORD NULL");

    /** Who runs the statement: a login, optionally followed by SET ROLE. */
    record Who(String user, String setRole) {
        @Override
        public String toString() {
            return user + (setRole == null ? "" : " as " + setRole);
        }
    }

    static final List<Who> MEMBERS = List.of(new Who(MEMBER, null), new Who(INHERITED, null),
            new Who(PwgateHarness.MASTER, null), new Who(SUPERUSER, null), new Who(SUPERUSER, MEMBER),
            new Who(INHERITED, GateRoles.GROUP));
    static final List<Who> NON_MEMBERS = List.of(new Who(NON_MEMBER, null), new Who(SUPERUSER, NON_MEMBER));

    static PwgateHarness h;
    static Connection admin;

    @BeforeAll
    static void start() throws Exception {
        h = PwgateHarness.start(true);
        GateRoles.create(h);
        admin = h.admin();
    }

    @AfterAll
    static void stop() throws Exception {
        if (admin != null) {
            admin.close();
        }
        if (h != null) {
            h.close();
        }
    }

    @BeforeEach
    void reset() throws SQLException {
        GateRoles.reset(admin);
    }

    static Connection connect(Who who, String params) throws SQLException {
        Connection c = h.connect(who.user(), GateRoles.password(who.user()), params);
        if (who.setRole() != null) {
            try (Statement s = c.createStatement()) {
                s.execute("SET ROLE " + who.setRole());
            }
        }
        return c;
    }

    static void assertRefused(SQLException e, String sqlState, String message) {
        PSQLException p = e instanceof PSQLException x ? x : (PSQLException) e.getNextException();
        assertNotNull(p, "not a server error: " + e);
        assertEquals(sqlState, p.getSQLState(), p.getMessage());
        assertEquals(message, p.getServerErrorMessage().getMessage());
        assertEquals("ERROR", p.getServerErrorMessage().getSeverity());
        assertNull(p.getServerErrorMessage().getWhere(), "no CONTEXT line");
        assertNull(p.getServerErrorMessage().getRoutine(), "nothing points into PL/pgSQL");
    }

    @Test
    void nonMembersAreRefusedEveryRestrictedFormInEveryMode() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String mode : MODES) {
            for (Who who : NON_MEMBERS) {
                try (Connection c = connect(who, mode)) {
                    for (String sql : FORMS) {
                        String before = GateRoles.snapshot(admin);
                        try (Statement s = c.createStatement()) {
                            s.execute(sql);
                            failures.add(mode + " / " + who + ": ran " + sql);
                        } catch (SQLException e) {
                            try {
                                assertRefused(e, "42501", REFUSAL);
                            } catch (AssertionError a) {
                                failures.add(mode + " / " + who + " / " + sql + ": " + a.getMessage());
                            }
                        }
                        if (!before.equals(GateRoles.snapshot(admin))) {
                            failures.add(mode + " / " + who + " / " + sql + ": pg_authid or pg_auth_members changed");
                        }
                        GateRoles.reset(admin);
                    }
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void membersRunEveryRestrictedFormInEveryMode() throws Exception {
        List<String> failures = new ArrayList<>();
        for (String mode : MODES) {
            for (Who who : MEMBERS) {
                try (Connection c = connect(who, mode)) {
                    for (String sql : FORMS) {
                        String before = GateRoles.snapshot(admin);
                        try (Statement s = c.createStatement()) {
                            s.execute(sql);
                            if (before.equals(GateRoles.snapshot(admin))) {
                                failures.add(mode + " / " + who + " / " + sql + ": nothing changed");
                            }
                        } catch (SQLException e) {
                            failures.add(mode + " / " + who + " / " + sql + ": " + e.getMessage());
                        }
                        GateRoles.reset(admin);
                    }
                }
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void refusalInsideATransactionAbortsItAndRollbackWorks() throws Exception {
        for (String mode : MODES) {
            try (Connection c = connect(new Who(NON_MEMBER, null), mode); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.execute("CREATE TEMP TABLE gate_tx (i int)");
                SQLException e = assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim VALID UNTIL '2020-01-01'"));
                assertRefused(e, "42501", REFUSAL);
                SQLException next = assertThrows(SQLException.class, () -> s.execute("SELECT 1"));
                assertEquals("25P02", next.getSQLState(), mode);
                c.rollback();
                try (ResultSet rs = s.executeQuery("SELECT to_regclass('gate_tx') IS NULL")) {
                    assertTrue(rs.next() && rs.getBoolean(1), mode);
                }
                c.commit();
            }
        }
    }

    @Test
    void refusalOutsideATransactionCommitsNothingOfTheString() throws Exception {
        try (Connection c = connect(new Who(NON_MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class,
                    () -> s.execute("CREATE TEMP TABLE gate_implicit (i int); ALTER ROLE victim PASSWORD 'x'"));
            assertRefused(e, "42501", REFUSAL);
            try (ResultSet rs = s.executeQuery("SELECT to_regclass('gate_implicit') IS NULL")) {
                assertTrue(rs.next() && rs.getBoolean(1));
            }
        }
    }

    @Test
    void multiStatementStringsWithTheRestrictedStatementFirstMiddleLast() throws Exception {
        String restricted = "ALTER ROLE victim VALID UNTIL '2020-01-01'";
        List<String> strings = List.of(restricted + "; SELECT 1", "SELECT 1; " + restricted + "; SELECT 2",
                "SELECT 1; " + restricted);
        for (String sql : strings) {
            String before = GateRoles.snapshot(admin);
            try (Connection c = connect(new Who(NON_MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
                SQLException e = assertThrows(SQLException.class, () -> {
                    s.execute(sql);
                    while (s.getMoreResults() || s.getUpdateCount() != -1) {
                        // drain every result: the error may follow earlier results
                    }
                });
                assertRefused(e, "42501", REFUSAL);
            }
            assertEquals(before, GateRoles.snapshot(admin), sql);
            try (Connection c = connect(new Who(MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
                s.execute(sql);
                int results = 1;
                while (s.getMoreResults() || s.getUpdateCount() != -1) {
                    results++;
                }
                assertEquals(sql.split(";").length, results, "every statement answered: " + sql);
            }
            assertNotEquals(before, GateRoles.snapshot(admin), sql);
            GateRoles.reset(admin);
        }
    }

    @Test
    void refusedNamedPreparedStatementExecutedTwice() throws Exception {
        String before = GateRoles.snapshot(admin);
        try (Connection c = connect(new Who(NON_MEMBER, null), "prepareThreshold=1");
             PreparedStatement ps = c.prepareStatement("ALTER ROLE victim VALID UNTIL '2020-01-01'")) {
            for (int i = 0; i < 3; i++) {
                SQLException e = assertThrows(SQLException.class, ps::execute);
                assertRefused(e, "42501", REFUSAL);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1), "the session is still in step");
            }
        }
        assertEquals(before, GateRoles.snapshot(admin));
        try (Connection c = connect(new Who(MEMBER, null), "prepareThreshold=1");
             PreparedStatement ps = c.prepareStatement("ALTER ROLE victim VALID UNTIL '2020-01-01'")) {
            for (int i = 0; i < 3; i++) {
                ps.execute();
            }
        }
    }

    @Test
    void batchesWithARestrictedStatementAreRefusedWhole() throws Exception {
        for (String mode : MODES) {
            String before = GateRoles.snapshot(admin);
            try (Connection c = connect(new Who(NON_MEMBER, null), mode); Statement s = c.createStatement()) {
                s.addBatch("ALTER ROLE victim CONNECTION LIMIT 5");
                s.addBatch("ALTER ROLE victim VALID UNTIL '2020-01-01'");
                s.addBatch("ALTER ROLE victim CONNECTION LIMIT 6");
                BatchUpdateException e = assertThrows(BatchUpdateException.class, s::executeBatch);
                assertRefused(e, "42501", REFUSAL);
            }
            if (mode.contains("simple")) {
                // pgjdbc sends a simple-mode batch as one Query per statement, each its own transaction,
                // and goes on after an error, exactly as it would against PostgreSQL: only the refused
                // statement must not have run.
                try (Statement s = admin.createStatement();
                     ResultSet rs = s.executeQuery("SELECT rolvaliduntil = 'infinity' FROM pg_authid WHERE rolname = 'victim'")) {
                    assertTrue(rs.next() && rs.getBoolean(1), mode);
                }
            } else {
                assertEquals(before, GateRoles.snapshot(admin), mode);
            }
            try (Connection c = connect(new Who(MEMBER, null), mode); Statement s = c.createStatement()) {
                s.addBatch("ALTER ROLE victim CONNECTION LIMIT 5");
                s.addBatch("ALTER ROLE victim VALID UNTIL '2020-01-01'");
                assertEquals(2, s.executeBatch().length);
            }
            GateRoles.reset(admin);
        }
    }

    @Test
    void membershipOfTheGateRoleIsRestricted() throws Exception {
        String before = GateRoles.snapshot(admin);
        try (Connection c = connect(new Who(NON_MEMBER, null), ""); Statement s = c.createStatement()) {
            assertRefused(assertThrows(SQLException.class, () -> s.execute("GRANT rds_password TO victim")), "42501", REFUSAL);
        }
        assertEquals(before, GateRoles.snapshot(admin));
        try (Connection c = connect(new Who(SUPERUSER, null), ""); Statement s = c.createStatement()) {
            s.execute("GRANT rds_password TO victim");
            s.execute("REVOKE rds_password FROM victim");
        }
    }

    @Test
    void theMasterUserGrantsTheGateRoleAsOnAurora() throws Exception {
        // Aurora: members of rds_superuser may grant rds_password to others (the bootstrap gives
        // rds_superuser the admin option on it).
        try (Connection c = connect(new Who(PwgateHarness.MASTER, null), ""); Statement s = c.createStatement()) {
            s.execute("GRANT rds_password TO victim");
        }
        try (Statement s = admin.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_has_role('victim', 'rds_password', 'MEMBER')")) {
            assertTrue(rs.next() && rs.getBoolean(1), "victim is a member of rds_password");
        }
        try (Connection c = connect(new Who(PwgateHarness.MASTER, null), ""); Statement s = c.createStatement()) {
            s.execute("REVOKE rds_password FROM victim");
            // Members add members as they create roles; the gate role itself is changed by no one.
            s.execute("CREATE ROLE pw_helper IN ROLE rds_password");
            s.execute("DROP ROLE pw_helper");
            for (String change : List.of("ALTER ROLE rds_password LOGIN", "ALTER ROLE rds_password PASSWORD 'shared'",
                    "ALTER ROLE rds_superuser CONNECTION LIMIT 2")) {
                String role = change.split(" ")[2];
                assertRefused(assertThrows(SQLException.class, () -> s.execute(change)), "42501",
                        "permission denied: role \"" + role + "\" is protected");
            }
        }
    }

    @Test
    void aLiteralEndingInABackslashIsNoRefusal() throws Exception {
        // Read with backslash escapes (standard_conforming_strings off, not in force here) it never
        // ends; that reading made it a refusal for non-members.
        for (String mode : MODES) {
            try (Connection c = connect(new Who(NON_MEMBER, null), mode); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT 'C:\\' AS dir")) {
                assertTrue(rs.next());
                assertEquals("C:\\", rs.getString(1), mode);
            }
        }
    }

    @Test
    void aRefusedPasswordStatementLeavesItsPasswordOutOfTheServerLog() throws Exception {
        String secret = "pwgate-log-probe-" + System.nanoTime();
        try (Connection c = connect(new Who(NON_MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
            assertRefused(assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim PASSWORD '" + secret + "'")),
                    "42501", REFUSAL);
        }
        // An error after it, found in the log, shows that the collector has written that far.
        String marker = "pwgate_log_marker_" + System.nanoTime();
        try (Statement s = admin.createStatement()) {
            assertThrows(SQLException.class, () -> s.execute("SELECT " + marker + "()"));
        }
        java.nio.file.Path log;
        try (Statement s = admin.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_setting('data_directory') || '/' || pg_current_logfile()")) {
            assertTrue(rs.next());
            log = java.nio.file.Path.of(rs.getString(1));
        }
        String text = "";
        for (long deadline = System.nanoTime() + 10_000_000_000L; System.nanoTime() < deadline; Thread.sleep(100)) {
            text = java.nio.file.Files.readString(log, StandardCharsets.ISO_8859_1);
            if (text.contains(marker)) {
                break;
            }
        }
        assertTrue(text.contains(marker), "the server log " + log + " has the later error");
        assertTrue(text.contains(REFUSAL), "the refusal itself is logged");
        assertFalse(text.contains(secret), "the refused statement's password is in the server log");
    }

    @Test
    void protectedRolesAreRefusedEvenToSuperusers() throws Exception {
        Map<String, String> refusals = Map.of(
                "ALTER ROLE rdsadmin CONNECTION LIMIT 5", "permission denied: role \"rdsadmin\" is protected",
                "ALTER ROLE rdsadmin SET work_mem = '1MB'", "permission denied: role \"rdsadmin\" is protected",
                "GRANT rdsadmin TO victim", "permission denied: role \"rdsadmin\" is protected",
                "DROP ROLE rds_password", "permission denied: role \"rds_password\" is protected",
                "ALTER ROLE rds_superuser RENAME TO x", "permission denied: role \"rds_superuser\" is protected",
                "REVOKE rds_password FROM rds_superuser", "cannot revoke rds_password from rds_superuser");
        for (String mode : MODES) {
            try (Connection c = connect(new Who(SUPERUSER, null), mode); Statement s = c.createStatement()) {
                for (var r : refusals.entrySet()) {
                    String before = GateRoles.snapshot(admin);
                    SQLException e = assertThrows(SQLException.class, () -> s.execute(r.getKey()), r.getKey());
                    assertRefused(e, "42501", r.getValue());
                    assertEquals(before, GateRoles.snapshot(admin), r.getKey());
                }
            }
        }
    }

    @Test
    void scramVerifiersAreRefusedToEveryone() throws Exception {
        String verifier = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$"
                + "WmZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGY=:WmZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGZrZGY=";
        String before = GateRoles.snapshot(admin);
        try (Connection c = connect(new Who(SUPERUSER, null), ""); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim PASSWORD '" + verifier + "'"));
            assertEquals("0A000", e.getSQLState());
            assertTrue(e.getMessage().contains("MD5"), e.getMessage());
        }
        assertEquals(before, GateRoles.snapshot(admin));
    }

    @Test
    void psqlPasswordCommandForAMemberAndANonMember() throws Exception {
        String before = GateRoles.snapshot(admin);
        Psql.Result refused = h.psql(NON_MEMBER, GateRoles.PASSWORD)
                .run("Newpass-1\nNewpass-1\n", Map.of(), "-c", "\\password victim");
        assertNotEquals(0, refused.exitCode(), refused.all());
        assertTrue(refused.stderr().contains("ERROR:  " + REFUSAL), refused.all());
        assertFalse(refused.all().contains("CONTEXT"), refused.all());
        assertEquals(before, GateRoles.snapshot(admin));
        Psql.Result allowed = h.psql(MEMBER, GateRoles.PASSWORD)
                .run("Newpass-1\nNewpass-1\n", Map.of(), "-c", "\\password victim");
        assertEquals(0, allowed.exitCode(), allowed.all());
        assertNotEquals(before, GateRoles.snapshot(admin));
        // And a plain psql script with a restricted statement in the middle.
        Psql.Result script = h.psql(NON_MEMBER, GateRoles.PASSWORD)
                .script("SELECT 1;\nALTER ROLE victim VALID UNTIL '2020-01-01';\nSELECT 2;\n");
        assertNotEquals(0, script.exitCode());
        assertTrue(script.stderr().contains(REFUSAL), script.all());
    }

    @Test
    void auditLinesForAnAllowedAndARefusedStatementHoldNoSecret() throws Exception {
        Logger audit = (Logger) LoggerFactory.getLogger("pwgate.audit");
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        audit.addAppender(logs);
        root.addAppender(logs);
        String allowedSecret = "Allowed-Secr3t";
        String refusedSecret = "Refused-Secr3t";
        try {
            try (Connection c = connect(new Who(MEMBER, null), ""); Statement s = c.createStatement()) {
                s.execute("ALTER ROLE victim PASSWORD '" + allowedSecret + "'");
            }
            try (Connection c = connect(new Who(NON_MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
                assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim PASSWORD '" + refusedSecret + "'"));
            }
        } finally {
            audit.detachAppender(logs);
            root.detachAppender(logs);
        }
        List<String> lines = logs.list.stream().distinct().map(ILoggingEvent::getFormattedMessage).toList();
        List<String> auditLines = logs.list.stream().distinct().filter(e -> e.getLoggerName().equals("pwgate.audit"))
                .map(ILoggingEvent::getFormattedMessage).toList();
        assertTrue(auditLines.stream().anyMatch(l -> l.contains("\"user\":\"" + MEMBER + "\"")
                && l.contains("\"verdict\":\"allowed\"") && l.contains("\"kinds\":[\"PASSWORD\"]")
                && l.contains("\"roles\":[\"victim\"]") && l.contains("'***'")), auditLines.toString());
        assertTrue(auditLines.stream().anyMatch(l -> l.contains("\"user\":\"" + NON_MEMBER + "\"")
                && l.contains("\"verdict\":\"refused\"")), auditLines.toString());
        for (String l : lines) {
            for (String secret : List.of(allowedSecret, refusedSecret, PwgateHarness.md5(allowedSecret, "victim"),
                    PwgateHarness.md5(refusedSecret, "victim"))) {
                if (l.contains(secret)) {
                    fail("a secret reached the log: " + l);
                }
            }
        }
    }

    /**
     * Rows and COPY data pass the gate as runs of bytes (the relay does not look at them one by
     * one): they must arrive whole and in order, and the gate must still be in step with the
     * backend afterwards, refusing the statement that follows them in the same string.
     */
    /**
     * Large objects through pgjdbc's LargeObjectManager, which calls lo_open, lowrite, loread and
     * friends with the protocol's FunctionCall message: each is answered by FunctionCallResponse and
     * ReadyForQuery, which the gate must count like a query's. A refused statement between the
     * calls leaves the session in step, and the object reads back byte for byte.
     */
    @Test
    void largeObjectsThroughFunctionCallsAroundARefusal() throws Exception {
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(data);
        try (Connection c = connect(new Who(NON_MEMBER, null), ""); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
            long oid = lom.createLO();
            try (LargeObject lo = lom.open(oid, LargeObjectManager.WRITE)) {
                for (int off = 0; off < data.length; off += 100_000) {
                    lo.write(data, off, Math.min(100_000, data.length - off));
                }
            }
            c.commit();
            assertRefused(assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim PASSWORD 'x'")), "42501", REFUSAL);
            c.rollback();
            try (LargeObject lo = lom.open(oid, LargeObjectManager.READ)) {
                assertEquals(data.length, lo.size());
                assertArrayEquals(data, lo.read(data.length));
            }
            lom.delete(oid);
            c.commit();
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = " + oid)) {
                assertTrue(rs.next());
                assertEquals(0, rs.getInt(1));
            }
            c.commit();
        }
    }

    /**
     * pgjdbc's cursor fetch (setFetchSize in a transaction): Execute with a row limit, answered by
     * PortalSuspended, and more Executes of the same portal later. A restricted statement between
     * two fetches is refused to a non-member and runs for a member, and the open portal's rows
     * still arrive whole and in order: the gate's accounting stays in step with the backend's.
     */
    @Test
    void cursorFetchesAroundARestrictedStatementStayInStep() throws Exception {
        String rows = "SELECT g, md5(g::text) FROM generate_series(1, 5000) g";
        for (String mode : List.of("", "prepareThreshold=1", "autosave=always", "binaryTransfer=true&prepareThreshold=-1")) {
            // A non-member with autosave: the refusal rolls back to pgjdbc's savepoint, the cursor lives on.
            // Without it: the refusal aborts the transaction, as any error would; the next fetch says so.
            try (Connection c = connect(new Who(NON_MEMBER, null), mode); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.setFetchSize(100);
                try (ResultSet rs = s.executeQuery(rows)) {
                    int n = readRows(rs, 0, 250);
                    try (Statement other = c.createStatement()) {
                        assertRefused(assertThrows(SQLException.class, () -> other.execute("ALTER ROLE victim PASSWORD 'x'")),
                                "42501", REFUSAL);
                    }
                    if (mode.startsWith("autosave")) {
                        assertEquals(5000, readRows(rs, n, Integer.MAX_VALUE), mode);
                    } else {
                        SQLException e = assertThrows(SQLException.class, () -> readRows(rs, n, Integer.MAX_VALUE));
                        assertEquals("25P02", e.getSQLState(), mode + ": " + e.getMessage());
                    }
                }
                c.rollback();
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM generate_series(1, 777)")) {
                    assertTrue(rs.next());
                    assertEquals(777, rs.getInt(1), mode);
                }
                c.commit();
            }
            // A member: the statement runs between fetches and the cursor goes on to its end.
            String before = GateRoles.snapshot(admin);
            try (Connection c = connect(new Who(MEMBER, null), mode); Statement s = c.createStatement()) {
                c.setAutoCommit(false);
                s.setFetchSize(100);
                try (ResultSet rs = s.executeQuery(rows)) {
                    int n = readRows(rs, 0, 250);
                    try (Statement other = c.createStatement()) {
                        other.execute("ALTER ROLE victim VALID UNTIL '2020-01-01'");
                    }
                    assertEquals(5000, readRows(rs, n, Integer.MAX_VALUE), mode);
                }
                c.commit();
            }
            assertNotEquals(before, GateRoles.snapshot(admin), mode + ": the member's statement changed nothing");
            GateRoles.reset(admin);
        }
    }

    /** Reads rows {@code from + 1} to at most {@code until}, checking each; returns the last row number read. */
    private static int readRows(ResultSet rs, int from, int until) throws SQLException {
        int n = from;
        while (n < until && rs.next()) {
            n++;
            assertEquals(n, rs.getInt(1));
            assertEquals(md5Hex(Integer.toString(n)), rs.getString(2), "row " + n);
        }
        return n;
    }

    private static String md5Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void manyRowsAndALargeCopyOutArriveWholeAndTheGateStaysInStep() throws Exception {
        String before = GateRoles.snapshot(admin);
        String rows = "SELECT g, repeat(chr(97 + g % 26), g % 300) FROM generate_series(1, 50000) g";
        try (Connection c = connect(new Who(NON_MEMBER, null), "preferQueryMode=simple"); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(rows)) {
                int n = 0;
                while (rs.next()) {
                    n++;
                    assertEquals(n, rs.getInt(1));
                    assertEquals(String.valueOf((char) ('a' + n % 26)).repeat(n % 300), rs.getString(2), "row " + n);
                }
                assertEquals(50000, n);
            }
            // The same rows, then a restricted statement in the same string: pgjdbc reports the
            // refusal once it has read every answer, the rows included.
            assertRefused(assertThrows(SQLException.class, () -> {
                s.execute(rows + "; ALTER ROLE victim VALID UNTIL '2020-01-01'");
                while (s.getMoreResults() || s.getUpdateCount() != -1) {
                    // drain
                }
            }), "42501", REFUSAL);

            String copy = "COPY (SELECT g, md5(g::text), repeat('y', g % 97) FROM generate_series(1, 200000) g) TO STDOUT";
            StringWriter through = new StringWriter();
            long copied = c.unwrap(PGConnection.class).getCopyAPI().copyOut(copy, through);
            StringWriter direct = new StringWriter();
            admin.unwrap(PGConnection.class).getCopyAPI().copyOut(copy, direct);
            assertEquals(200000, copied);
            String expected = direct.toString();
            String actual = through.toString();
            assertEquals(expected.length(), actual.length());
            assertTrue(expected.equals(actual), "COPY out through pwgate differs from the backend's");
            assertRefused(assertThrows(SQLException.class, () -> s.execute("ALTER ROLE victim PASSWORD 'x'")), "42501", REFUSAL);
        }
        assertEquals(before, GateRoles.snapshot(admin));
    }
}
