package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.protocol.Frame;
import org.slf4j.LoggerFactory;

/**
 * The gate's protocol mechanics, with real protocol bytes in both directions: what it sends to
 * the backend, what the client sees, and that every buffer is released.
 */
class PasswordCommandGateTest {
    static final String GUARD = GuardSql.membership("rds_password");
    static final String REFUSAL = "must be a member of rds_password to alter passwords";
    static final String STRIPPED_REFUSAL = "Error S=ERROR V=ERROR C=42501 M=" + REFUSAL;

    private GateDriver d;
    private ListAppender<ILoggingEvent> logs;
    private Logger root;
    private Logger auditLogger;

    @BeforeEach
    void setUp() {
        root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        // The audit logger may be routed to its own appender without additivity: listen there too.
        auditLogger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
        auditLogger.addAppender(logs);
        auditLogger.setLevel(Level.INFO);
        d = new GateDriver(true);
    }

    @AfterEach
    void tearDown() {
        d.close();
        root.detachAppender(logs);
        auditLogger.detachAppender(logs);
    }

    private List<ILoggingEvent> events() {
        return logs.list.stream().distinct().toList();
    }

    private List<String> audit() {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent e : events()) {
            if (e.getLoggerName().equals(AuditLog.LOGGER)) {
                out.add(e.getFormattedMessage());
            }
        }
        return out;
    }

    // ------------------------------------------------------------ off

    @Test
    void offModeForwardsEveryFrameUnchangedBothWays() {
        d.restrict(false);
        Frame query = d.query("ALTER ROLE bob PASSWORD 'pw'");
        d.client(query);
        assertEquals(0, d.classifier.classifications, "simple queries are not classified while off");
        List<Frame> in = List.of(d.parse("", "ALTER ROLE bob VALID UNTIL 'x'"),
                d.bind("", ""), d.describe('P', ""), d.execute(""), d.sync(), d.flush());
        d.client(in.toArray(Frame[]::new));
        List<Frame> out = d.rawToBackend();
        assertEquals(in.size() + 1, out.size(), "nothing injected");
        assertSame(query, out.get(0));
        for (int i = 0; i < in.size(); i++) {
            assertSame(in.get(i), out.get(i + 1));
        }
        List<Frame> answers = List.of(d.commandComplete("ALTER ROLE"), d.ready('I'), d.parseComplete(), d.bindComplete(),
                d.noData(), d.commandComplete("ALTER ROLE"), d.ready('I'));
        d.backend(answers.toArray(Frame[]::new));
        List<Frame> seen = d.rawToClient();
        assertEquals(answers.size(), seen.size());
        for (int i = 0; i < answers.size(); i++) {
            assertSame(answers.get(i), seen.get(i));
        }
        out.forEach(Frame::release);
        seen.forEach(Frame::release);
        assertTrue(audit().isEmpty());
    }

    @Test
    void harmlessTrafficPassesUnchangedWhileOn() {
        Frame q = d.query("SELECT 1");
        d.client(q);
        List<Frame> out = d.rawToBackend();
        assertSame(q, out.get(0));
        out.forEach(Frame::release);
        d.backend(d.rowDescription(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", "ReadyForQuery I"), d.sentToClient());
        assertEquals(0, d.classifier.classifications, "the fast path keeps harmless text from the lexer");
    }

    @Test
    void pendingAnswersCountWhatTheBackendStillOwesAndNothingOnceUntracked() {
        d.client(d.query("SELECT 1"), d.parse("", "SELECT 2"), d.bind("", ""), d.execute(""), d.sync());
        d.rawToBackend().forEach(Frame::release);
        assertEquals(5, d.gate.pendingAnswers());
        d.backend(d.rowDescription(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.ready('I'), d.parseComplete());
        d.rawToClient().forEach(Frame::release);
        assertEquals(3, d.gate.pendingAnswers());
        d.backend(d.bindComplete(), d.dataRow("2"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.rawToClient().forEach(Frame::release);
        assertEquals(0, d.gate.pendingAnswers());

        // CopyDone outside COPY answers nothing and the server ignores it. With nothing queued
        // (the server ended the COPY itself, pgjdbc's CopyManager still sends its CopyDone) it is
        // not counted at all; behind a query, which may start a COPY it ends, it is kept once: a
        // flood of them is one entry.
        for (int i = 0; i < 10_000; i++) {
            d.client(d.copyDone());
        }
        d.rawToBackend().forEach(Frame::release);
        assertEquals(0, d.gate.pendingAnswers());
        d.client(d.query("SELECT 1"));
        for (int i = 0; i < 10_000; i++) {
            d.client(d.copyDone());
        }
        d.rawToBackend().forEach(Frame::release);
        assertEquals(2, d.gate.pendingAnswers());

        // Lost track with the restriction off (a second ReadyForQuery, answering nothing): the gate
        // counts nothing, so the relay holds nothing back.
        d.restrict(false);
        d.backend(d.ready('I'), d.ready('I'));
        d.rawToClient().forEach(Frame::release);
        d.client(d.sync(), d.sync());
        d.rawToBackend().forEach(Frame::release);
        assertEquals(0, d.gate.pendingAnswers());
    }

    // ------------------------------------------------------------ simple query

    @Test
    void simpleQueryGuardGoesRightBeforeTheRestrictedStatementFirstMiddleLast() {
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        assertEquals(List.of("Q " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'"), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("CommandComplete ALTER ROLE", "ReadyForQuery I"), d.sentToClient());

        d.client(d.query("SELECT 1; ALTER ROLE bob PASSWORD 'pw'; SELECT 2"));
        assertEquals(List.of("Q SELECT 1; " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'; SELECT 2"), d.sentToBackend());
        d.backend(d.rowDescription(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.commandComplete("DO"),
                d.commandComplete("ALTER ROLE"), d.rowDescription(), d.dataRow("2"), d.commandComplete("SELECT 1"),
                d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", "CommandComplete ALTER ROLE",
                "RowDescription", "DataRow", "CommandComplete SELECT 1", "ReadyForQuery I"), d.sentToClient());

        d.client(d.query("SELECT 1;\nALTER ROLE bob VALID UNTIL 'infinity'"));
        assertEquals(List.of("Q SELECT 1;\n" + GUARD + "; ALTER ROLE bob VALID UNTIL 'infinity'"), d.sentToBackend());
        d.backend(d.rowDescription(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.commandComplete("DO"),
                d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", "CommandComplete ALTER ROLE",
                "ReadyForQuery I"), d.sentToClient());
        assertEquals(3, audit().size());
        assertTrue(audit().get(0).contains("\"verdict\":\"allowed\""), audit().get(0));
    }

    @Test
    void simpleQueryRefusalShowsOnlyTheNativeErrorFieldsAndTheRestIsSkipped() {
        d.client(d.query("SELECT 1; ALTER ROLE bob PASSWORD 'pw'; ALTER ROLE carol RENAME TO dave"));
        assertEquals(List.of("Q SELECT 1; " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'; " + GUARD
                + "; ALTER ROLE carol RENAME TO dave"), d.sentToBackend());
        d.backend(d.rowDescription(), d.dataRow("1"), d.commandComplete("SELECT 1"),
                d.error("42501", REFUSAL), d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", STRIPPED_REFUSAL, "ReadyForQuery I"),
                d.sentToClient());
        List<String> audit = audit();
        assertEquals(2, audit.size());
        assertTrue(audit.get(0).contains("\"verdict\":\"refused\""), audit.get(0));
        assertTrue(audit.get(0).contains("\"statement\":\"ALTER ROLE bob PASSWORD '***'\""), audit.get(0));
        assertTrue(audit.get(1).contains("\"verdict\":\"skipped\""), audit.get(1));
    }

    @Test
    void aClientStatementsOwnErrorIsForwardedUntouched() {
        d.client(d.query("SELECT 1/0; ALTER ROLE bob PASSWORD 'pw'"));
        d.sentToBackend();
        d.backend(d.error("22012", "division by zero"), d.ready('I'));
        List<String> client = d.sentToClient();
        assertTrue(client.get(0).contains("W=PL/pgSQL"), "a native error keeps every field: " + client.get(0));
        assertEquals("ReadyForQuery I", client.get(1));
    }

    @Test
    void protectedRoleIsRefusedToEveryoneInBand() {
        d.client(d.query("DROP ROLE rdsadmin"));
        String sent = d.sentToBackend().get(0);
        assertTrue(sent.startsWith("Q DO $pwgate$BEGIN RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = "
                + "'permission denied: role \"rdsadmin\" is protected'; END$pwgate$"), sent);
        assertTrue(sent.endsWith("; DROP ROLE rdsadmin"), sent);
        d.backend(d.error("42501", "permission denied: role \"rdsadmin\" is protected"), d.ready('I'));
        assertEquals(List.of("Error S=ERROR V=ERROR C=42501 M=permission denied: role \"rdsadmin\" is protected",
                "ReadyForQuery I"), d.sentToClient());
    }

    @Test
    void aTextTooComplexToClassifyIsRefusedToEveryoneWith54001() {
        // Role-statement openings with no ';' between them in a literal: quadratic for the
        // forgiving parser, so the classifier gives up and nothing it names is known.
        d.client(d.query("SELECT length('" + "alter role x password ".repeat(20_000) + "')"));
        String sent = d.sentToBackend().get(0);
        assertTrue(sent.startsWith("Q DO $pwgate$BEGIN RAISE EXCEPTION USING ERRCODE = '54001', MESSAGE = '"
                + GatePolicy.tooComplexMessage() + "'; END$pwgate$"), sent.substring(0, 200));
        d.backend(d.error("54001", GatePolicy.tooComplexMessage()), d.ready('I'));
        assertEquals(List.of("Error S=ERROR V=ERROR C=54001 M=" + GatePolicy.tooComplexMessage(), "ReadyForQuery I"),
                d.sentToClient());
    }

    @Test
    void gateRoleCannotBeDroppedAndScramVerifiersAreRefused() {
        d.client(d.query("DROP ROLE rds_password"));
        assertTrue(d.sentToBackend().get(0).contains("RAISE EXCEPTION USING ERRCODE = '42501'"));
        d.backend(d.error("42501", "x"), d.ready('I'));
        d.sentToClient();
        d.client(d.query("ALTER ROLE bob PASSWORD 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$c3RvcmVka2V5c3RvcmVka2V5c3RvcmVka2V5c3RvcmVkaw=:c2VydmVya2V5c2VydmVya2V5c2VydmVya2V5c2VydmVyaw='"));
        String sent = d.sentToBackend().get(0);
        assertTrue(sent.contains("ERRCODE = '0A000'"), sent);
        d.backend(d.error("0A000", GatePolicy.scramMessage()), d.ready('I'));
        d.sentToClient();
        d.client(d.query("REVOKE rds_password FROM rds_superuser"));
        assertTrue(d.sentToBackend().get(0).contains("MESSAGE = 'cannot revoke rds_password from rds_superuser'"));
        d.backend(d.error("42501", "x"), d.ready('I'));
        d.sentToClient();
        d.client(d.query("GRANT rds_password TO bob"));
        assertEquals(List.of("Q " + GUARD + "; GRANT rds_password TO bob"), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("GRANT ROLE"), d.ready('I'));
        assertEquals(List.of("CommandComplete GRANT ROLE", "ReadyForQuery I"), d.sentToClient());
        // Another role: guarded for the case that it is itself a member of the gate role, which
        // only the server knows; the ALTER after it is not guarded.
        d.client(d.query("GRANT reporting TO bob; ALTER ROLE bob CONNECTION LIMIT 3"));
        assertEquals(List.of("Q " + GuardSql.membershipIfJoining("rds_password", List.of("reporting"))
                + "; GRANT reporting TO bob; ALTER ROLE bob CONNECTION LIMIT 3"), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("GRANT ROLE"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("CommandComplete GRANT ROLE", "CommandComplete ALTER ROLE", "ReadyForQuery I"), d.sentToClient());
        // The gate role gains members, and nothing else.
        d.client(d.query("CREATE ROLE helper IN ROLE rds_password"));
        assertEquals(List.of("Q " + GUARD + "; CREATE ROLE helper IN ROLE rds_password"), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("CREATE ROLE"), d.ready('I'));
        d.sentToClient();
        for (String q : List.of("ALTER ROLE rds_password LOGIN", "ALTER ROLE rds_superuser CONNECTION LIMIT 2",
                "ALTER ROLE rds_password SET work_mem = '1MB'")) {
            d.client(d.query(q));
            String refused = d.sentToBackend().get(0);
            assertTrue(refused.contains("is protected"), q + ": " + refused);
            d.backend(d.error("42501", "x"), d.ready('I'));
            d.sentToClient();
        }
    }

    @Test
    void aLiteralEndingInABackslashIsReadWithTheStandardConformingStringsInForce() {
        // With backslash escapes 'C:\' never ends: PostgreSQL in that setting would reject the
        // text whole, so that reading decides nothing (it made this a refusal for non-members).
        d.client(d.query("SELECT 'C:\\'"));
        assertEquals(List.of("Q SELECT 'C:\\'"), d.sentToBackend());
        d.backend(d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
        // A restricted statement behind it gets its own guard, in front of it, not one at the start.
        d.client(d.query("COMMIT; SELECT 'C:\\' AS dir; ALTER USER app PASSWORD 'y'"));
        assertEquals(List.of("Q COMMIT; SELECT 'C:\\' AS dir; " + GUARD + "; ALTER USER app PASSWORD 'y'"), d.sentToBackend());
        d.backend(d.commandComplete("COMMIT"), d.commandComplete("SELECT 1"), d.error("42501", "x"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void guardCompletionOtherThanDoFailsClosed() {
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        d.sentToBackend();
        d.backend(d.commandComplete("ALTER ROLE"));
        assertEquals(List.of("Error S=FATAL V=FATAL C=XX000 M=pwgate lost track of the server's answers and closed the session"),
                d.sentToClient());
        d.backend(d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertTrue(d.sentToClient().isEmpty(), "nothing more reaches the client");
        d.client(d.query("SELECT 1"));
        assertEquals(List.of("X"), d.sentToBackend(), "the backend session is terminated");
    }

    // ------------------------------------------------------------ extended query

    private List<String> injected(String... then) {
        List<String> out = new ArrayList<>(List.of("C P pwgate_guard", "C S pwgate_guard", "P pwgate_guard " + GUARD,
                "B pwgate_guard pwgate_guard", "E pwgate_guard"));
        out.addAll(List.of(then));
        return out;
    }

    @Test
    void extendedUnnamedStatementGuardPasses() {
        d.client(d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.describe('P', ""), d.execute(""), d.sync());
        List<String> expected = new ArrayList<>(List.of("P '' ALTER ROLE bob PASSWORD 'pw'", "B '' ''", "D P ''"));
        expected.addAll(injected("E ''", "S"));
        assertEquals(expected, d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.noData(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                d.bindComplete(), d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("ParseComplete", "BindComplete", "NoData", "CommandComplete ALTER ROLE", "ReadyForQuery I"),
                d.sentToClient());
        assertTrue(audit().get(0).contains("\"verdict\":\"allowed\""));
    }

    @Test
    void extendedGuardErrorReplacesTheExecuteResult() {
        d.client(d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.execute(""), d.sync());
        d.sentToBackend();
        d.backend(d.parseComplete(), d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                d.bindComplete(), d.error("42501", REFUSAL), d.ready('I'));
        assertEquals(List.of("ParseComplete", "BindComplete", STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
        assertTrue(audit().get(0).contains("\"verdict\":\"refused\""));
    }

    @Test
    void namedPortalOfANamedRestrictedStatementIsGuardedAndOthersPassUntouched() {
        // Names are looked up without decoding them while the tables hold no named entry; once
        // one does, every lookup decodes. Both ways must answer the same.
        d.client(d.bind("p0", "plain"), d.execute("p0"), d.sync());
        assertEquals(List.of("B p0 plain", "E p0", "S"), d.sentToBackend());
        d.backend(d.bindComplete(), d.commandComplete("SELECT 1"), d.ready('T'));
        d.sentToClient();
        d.client(d.parse("s1", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("p1", "s1"), d.bind("p2", "plain"),
                d.execute("p2"), d.execute("p1"), d.sync());
        List<String> expected = new ArrayList<>(List.of("P s1 ALTER ROLE bob PASSWORD 'pw'", "B p1 s1", "B p2 plain", "E p2"));
        expected.addAll(injected("E p1", "S"));
        assertEquals(expected, d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.bindComplete(), d.commandComplete("SELECT 1"),
                d.closeComplete(), d.closeComplete(), d.parseComplete(), d.bindComplete(),
                d.error("42501", REFUSAL), d.ready('T'));
        assertEquals(List.of("ParseComplete", "BindComplete", "BindComplete", "CommandComplete SELECT 1",
                STRIPPED_REFUSAL, "ReadyForQuery T"), d.sentToClient());
    }

    @Test
    void reservedNameInBindOrExecuteTerminatesTheSession() {
        for (int kind = 0; kind < 3; kind++) {
            GateDriver fresh = new GateDriver(true);
            try {
                fresh.client(kind == 0 ? fresh.bind("pwgate_guard", "") : kind == 1 ? fresh.bind("", "pwgate_guard")
                        : fresh.execute("pwgate_guard"));
                assertEquals(List.of("X"), fresh.sentToBackend(), "case " + kind);
            } finally {
                fresh.close();
            }
        }
        // A name that only starts like the reserved one is the client's own.
        d.client(d.bind("pwgate_guard2", ""), d.execute("pwgate_guard2"), d.sync());
        assertEquals(List.of("B pwgate_guard2 ''", "E pwgate_guard2", "S"), d.sentToBackend());
    }

    @Test
    void namedStatementIsGuardedAtEachExecute() {
        d.client(d.parse("s1", "ALTER ROLE bob PASSWORD 'pw'"), d.sync());
        d.sentToBackend();
        d.backend(d.parseComplete(), d.ready('I'));
        d.sentToClient();
        for (int run = 0; run < 2; run++) {
            d.client(d.bind("", "s1"), d.execute(""), d.sync());
            List<String> expected = new ArrayList<>(List.of("B '' s1"));
            expected.addAll(injected("E ''", "S"));
            assertEquals(expected, d.sentToBackend());
            d.backend(d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(), d.bindComplete(),
                    d.error("42501", REFUSAL), d.ready('I'));
            assertEquals(List.of("BindComplete", STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
        }
        // After Close of the statement is confirmed, the name may hold something harmless.
        d.client(d.closeMessage('S', "s1"), d.sync());
        d.sentToBackend();
        d.backend(d.closeComplete(), d.ready('I'));
        d.sentToClient();
        d.client(d.parse("s1", "SELECT 1"), d.bind("", "s1"), d.execute(""), d.sync());
        assertEquals(List.of("P s1 SELECT 1", "B '' s1", "E ''", "S"), d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.ready('I'));
        assertEquals(5, d.sentToClient().size());
    }

    @Test
    void pipelinedBatchesErrorBeforeTheGuardedExecuteSkipsTheGuardToo() {
        // Batch 1: the Bind fails, so the backend skips the injected guard and the Execute.
        // Batch 2: a harmless statement; batch 3: the restricted one again, guard refuses.
        d.client(d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.execute(""), d.sync(),
                d.parse("", "SELECT 1"), d.bind("", ""), d.execute(""), d.sync(),
                d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.execute(""), d.sync());
        List<String> expected = new ArrayList<>(List.of("P '' ALTER ROLE bob PASSWORD 'pw'", "B '' ''"));
        expected.addAll(injected("E ''", "S", "P '' SELECT 1", "B '' ''", "E ''", "S",
                "P '' ALTER ROLE bob PASSWORD 'pw'", "B '' ''"));
        expected.addAll(injected("E ''", "S"));
        assertEquals(expected, d.sentToBackend());
        d.backend(d.parseComplete(), d.error("08P01", "bind message supplies 1 parameters"), d.ready('I'),
                d.parseComplete(), d.bindComplete(), d.dataRow("1"), d.commandComplete("SELECT 1"), d.ready('I'),
                d.parseComplete(), d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                d.bindComplete(), d.error("42501", REFUSAL), d.ready('I'));
        List<String> client = d.sentToClient();
        assertEquals(List.of("ParseComplete"), client.subList(0, 1));
        assertTrue(client.get(1).startsWith("Error S=ERROR V=ERROR C=08P01"));
        assertEquals(List.of("ReadyForQuery I", "ParseComplete", "BindComplete", "DataRow", "CommandComplete SELECT 1",
                "ReadyForQuery I", "ParseComplete", "BindComplete", STRIPPED_REFUSAL, "ReadyForQuery I"),
                client.subList(2, client.size()));
        List<String> audit = audit();
        assertEquals(2, audit.size());
        assertTrue(audit.get(0).contains("\"verdict\":\"skipped\""));
        assertTrue(audit.get(1).contains("\"verdict\":\"refused\""));
    }

    @Test
    void errorAfterAPassedGuardIsTheStatementsOwn() {
        d.client(d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.execute(""),
                d.parse("", "SELECT 1"), d.bind("", ""), d.execute(""), d.sync());
        d.sentToBackend();
        d.backend(d.parseComplete(), d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                d.bindComplete(), d.commandComplete("DO"), d.error("42501", "permission denied to alter role"),
                d.ready('I'));
        List<String> client = d.sentToClient();
        assertEquals(4, client.size(), client.toString());
        assertTrue(client.get(2).contains("M=permission denied to alter role"), client.get(2));
        assertEquals("ReadyForQuery I", client.get(3));
    }

    @Test
    void describeAndCloseAroundAGuardedExecuteWithNoticesInterleaved() {
        d.client(d.parse("st", "ALTER ROLE bob VALID UNTIL 'infinity'"), d.describe('S', "st"), d.bind("po", "st"),
                d.describe('P', "po"), d.execute("po"), d.closeMessage('P', "po"), d.closeMessage('S', "st"), d.sync());
        List<String> expected = new ArrayList<>(List.of("P st ALTER ROLE bob VALID UNTIL 'infinity'", "D S st",
                "B po st", "D P po"));
        expected.addAll(injected("E po", "C P po", "C S st", "S"));
        assertEquals(expected, d.sentToBackend());
        d.backend(d.parseComplete(), d.parameterDescription(), d.noData(), d.notice("n1"), d.bindComplete(), d.noData(),
                d.closeComplete(), d.notice("n2"), d.closeComplete(), d.parseComplete(), d.bindComplete(),
                d.parameterStatus("application_name", "x"), d.commandComplete("DO"), d.commandComplete("ALTER ROLE"),
                d.closeComplete(), d.closeComplete(), d.ready('I'));
        assertEquals(List.of("ParseComplete", "ParameterDescription", "NoData", "Notice S=NOTICE V=NOTICE C=00000 M=n1",
                "BindComplete", "NoData", "Notice S=NOTICE V=NOTICE C=00000 M=n2", "ParameterStatus application_name=x",
                "CommandComplete ALTER ROLE", "CloseComplete", "CloseComplete", "ReadyForQuery I"), d.sentToClient());
        // The named statement was closed: the name is free again.
        d.client(d.parse("st", "SELECT 1"), d.bind("po", "st"), d.execute("po"), d.sync());
        assertEquals(List.of("P st SELECT 1", "B po st", "E po", "S"), d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void copyInsideAPipelineIgnoresSyncsSentDuringCopyIn() {
        d.client(d.parse("", "COPY t FROM STDIN"), d.bind("", ""), d.execute(""), d.sync());
        d.sentToBackend();
        d.backend(d.parseComplete(), d.bindComplete(), d.copyInResponse());
        // The Sync queued before CopyInResponse arrived is ignored by the backend in COPY IN.
        d.client(d.copyData("1\n"), d.flush(), d.sync(), d.copyDone(), d.sync(),
                d.parse("", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", ""), d.execute(""), d.sync());
        List<String> sent = d.sentToBackend();
        assertEquals(List.of("d", "H", "S", "c", "S", "P '' ALTER ROLE bob PASSWORD 'pw'", "B '' ''"), sent.subList(0, 7));
        d.backend(d.commandComplete("COPY 1"), d.ready('I'), d.parseComplete(), d.bindComplete(), d.closeComplete(),
                d.closeComplete(), d.parseComplete(), d.bindComplete(), d.error("42501", REFUSAL), d.ready('I'));
        assertEquals(List.of("ParseComplete", "BindComplete", "CopyInResponse", "CommandComplete COPY 1", "ReadyForQuery I",
                "ParseComplete", "BindComplete", STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
    }

    @Test
    void simpleQueryCopyOutAndEmptyQueryAndSuspendedPortal() {
        d.client(d.query("COPY t TO STDOUT"));
        d.sentToBackend();
        d.backend(d.copyOutResponse(), d.backendCopyData("1\n"), d.backendCopyDone(), d.commandComplete("COPY 1"), d.ready('I'));
        assertEquals(List.of("CopyOutResponse", "CopyData", "CopyDone", "CommandComplete COPY 1", "ReadyForQuery I"),
                d.sentToClient());
        d.client(d.query(""), d.parse("", "SELECT 1"), d.bind("", ""), d.execute(""), d.execute(""), d.sync());
        d.sentToBackend();
        d.backend(d.emptyQuery(), d.ready('I'), d.parseComplete(), d.bindComplete(), d.dataRow("1"), d.portalSuspended(),
                d.commandComplete("SELECT 0"), d.ready('I'));
        assertEquals(8, d.sentToClient().size());
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        d.sentToBackend();
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("CommandComplete ALTER ROLE", "ReadyForQuery I"), d.sentToClient(), "still in step");
    }

    // ------------------------------------------------------------ toggling and windows

    @Test
    void turningTheRestrictionOnGuardsStatementsPreparedWhileOff() {
        d.restrict(false);
        d.client(d.parse("s1", "ALTER ROLE bob PASSWORD 'pw'"), d.bind("", "s1"), d.execute(""), d.sync());
        assertEquals(List.of("P s1 ALTER ROLE bob PASSWORD 'pw'", "B '' s1", "E ''", "S"), d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.commandComplete("ALTER ROLE"), d.ready('I'));
        d.sentToClient();
        d.restrict(true); // a reload
        d.client(d.bind("", "s1"), d.execute(""), d.sync());
        List<String> expected = new ArrayList<>(List.of("B '' s1"));
        expected.addAll(injected("E ''", "S"));
        assertEquals(expected, d.sentToBackend());
        d.backend(d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(), d.bindComplete(),
                d.error("42501", REFUSAL), d.ready('I'));
        assertEquals(List.of("BindComplete", STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
        d.restrict(false);
        d.client(d.bind("", "s1"), d.execute(""), d.sync());
        assertEquals(List.of("B '' s1", "E ''", "S"), d.sentToBackend(), "off again: nothing injected");
        d.backend(d.bindComplete(), d.commandComplete("ALTER ROLE"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void turningOnWhileAQueryIsInFlightKeepsTheAnswersInStep() {
        d.restrict(false);
        d.client(d.query("SELECT pg_sleep(1)"));
        d.sentToBackend();
        d.restrict(true);
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        assertEquals(List.of("Q " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'"), d.sentToBackend());
        d.backend(d.rowDescription(), d.dataRow(""), d.commandComplete("SELECT 1"), d.ready('I'),
                d.error("42501", REFUSAL), d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", "ReadyForQuery I",
                STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
    }

    @Test
    void whileMessagesAreInFlightEveryPossibleLexingSettingIsTried() {
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        assertEquals(2, d.classifier.seen.size(), "idle: confirmed encoding, both standard_conforming_strings");
        assertEquals(List.of(new LexSettings(true, "UTF8", 17), new LexSettings(false, "UTF8", 17)), d.classifier.seen);
        d.classifier.seen.clear();
        d.client(d.query("SET client_encoding = 'SJIS'"), d.query("ALTER ROLE bob PASSWORD 'pw'"));
        assertTrue(d.classifier.seen.stream().anyMatch(s -> s.clientEncoding().equals("SJIS")), d.classifier.seen.toString());
        assertTrue(d.classifier.seen.stream().anyMatch(s -> s.clientEncoding().equals("BIG5")));
        assertEquals(2 * (1 + LexingWindow.CLIENT_ONLY_ENCODINGS.size()), d.classifier.seen.size());
        d.sentToBackend();
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'), d.commandComplete("SET"),
                d.ready('I'), d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void reservedGuardNameUsedByTheClientTerminatesTheSession() {
        d.client(d.parse("pwgate_guard", "SELECT 1"));
        assertEquals(List.of("X"), d.sentToBackend());
        d.client(d.sync());
        assertTrue(d.sentToBackend().isEmpty());
    }

    @Test
    void backendFatalIsForwardedAndTheGateStepsAside() {
        d.client(d.query("ALTER ROLE bob PASSWORD 'pw'"));
        d.sentToBackend();
        d.backend(d.error("FATAL", "57P01", "terminating connection due to administrator command"));
        assertTrue(d.sentToClient().get(0).startsWith("Error S=FATAL V=FATAL C=57P01"));
    }

    @Test
    void noSecretReachesAnyLog() {
        // A noisy path: allowed, refused, and a lost track, with every logger at TRACE.
        Logger gateLogger = (Logger) LoggerFactory.getLogger("org.pwgate");
        Level before = gateLogger.getLevel();
        gateLogger.setLevel(Level.TRACE);
        try {
            String md5 = "md5" + "0123456789abcdef0123456789abcdef";
            d.client(d.query("ALTER ROLE bob PASSWORD 'Sup3rSecret!'"));
            d.sentToBackend();
            d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
            d.client(d.parse("", "ALTER ROLE bob PASSWORD '" + md5 + "'"), d.bind("", ""), d.execute(""), d.sync());
            d.sentToBackend();
            d.backend(d.parseComplete(), d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                    d.bindComplete(), d.error("42501", REFUSAL), d.ready('I'));
            d.client(d.query("ALTER ROLE bob PASSWORD 'Sup3rSecret!'"));
            d.backend(d.rowDescription());
            d.sentToClient();
            d.sentToBackend();
            assertFalse(logs.list.isEmpty());
            for (ILoggingEvent e : events()) {
                String line = e.getFormattedMessage() + e.getThrowableProxy();
                assertFalse(line.contains("Sup3rSecret"), line);
                assertFalse(line.contains(md5), line);
            }
            assertTrue(audit().stream().anyMatch(a -> a.contains("PASSWORD '***'")));
        } finally {
            gateLogger.setLevel(before);
        }
    }
    // ------------------------------------------------------------ data runs

    /**
     * While passesDataUnseen() is true the relay passes runs of CopyData and DataRow on without
     * calling the gate, so in every state it must say exactly whether the gate would hand such a
     * frame on, unchanged.
     */
    @Test
    void passesDataUnseenSaysExactlyWhetherDataWouldPassUnchangedInEveryState() {
        assertDataPasses(d, true, "READY");
        d.client(d.query("COPY t FROM STDIN"));
        d.sentToBackend();
        d.backend(d.copyInResponse());
        d.sentToClient();
        assertDataPasses(d, true, "COPY_IN");
        d.client(d.copyDone());
        d.backend(d.commandComplete("COPY 0"), d.ready('I'));
        d.client(d.parse("", "SELECT 1/0"), d.bind("", ""), d.execute(""));
        d.backend(d.parseComplete(), d.bindComplete(), d.error("22012", "division by zero"));
        d.sentToBackend();
        d.sentToClient();
        assertDataPasses(d, true, "SKIPPING");
        d.backend(d.error("FATAL", "57P01", "terminating connection due to administrator command"));
        d.sentToClient();
        assertDataPasses(d, true, "BACKEND_GONE");

        try (GateDriver off = new GateDriver(false)) {
            off.backend(off.parseComplete()); // answers nothing it sent: lost track while off
            off.sentToClient();
            assertDataPasses(off, true, "UNTRACKED");
        }
        try (GateDriver on = new GateDriver(true)) {
            on.backend(on.parseComplete()); // lost track while on: fails closed
            on.sentToClient();
            assertTrue(on.gate.sessionMustEnd());
            assertDataPasses(on, false, "CLOSED");
        }
    }

    private static void assertDataPasses(GateDriver g, boolean expected, String state) {
        assertEquals(expected, g.gate.passesDataUnseen(), state);
        Frame copy = g.copyData("x");
        g.client(copy);
        List<Frame> toBackend = g.rawToBackend();
        boolean clientCopyPassed = toBackend.size() == 1 && toBackend.get(0) == copy;
        toBackend.forEach(Frame::release);
        Frame row = g.dataRow("1");
        Frame backendCopy = g.backendCopyData("y");
        g.backend(row, backendCopy);
        List<Frame> toClient = g.rawToClient();
        boolean backendDataPassed = toClient.size() == 2 && toClient.get(0) == row && toClient.get(1) == backendCopy;
        toClient.forEach(Frame::release);
        assertEquals(expected, clientCopyPassed, state + ": the client's CopyData");
        assertEquals(expected, backendDataPassed, state + ": the backend's DataRow and CopyData");
        assertEquals(expected, g.gate.passesDataUnseen(), state + ", after the data");
    }
}
