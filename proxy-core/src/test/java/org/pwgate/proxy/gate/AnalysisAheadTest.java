package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.protocol.Frame;
import org.slf4j.LoggerFactory;

/**
 * Long texts analysed ahead, off the event loop ({@link SessionGate#prepare}): the gate then
 * decides on the loop exactly as it would have, without classifying the text there again.
 */
class AnalysisAheadTest {
    static final String GUARD = PasswordCommandGateTest.GUARD;
    private final GateDriver d = new GateDriver(true);
    private final Logger auditLogger = (Logger) LoggerFactory.getLogger(AuditLog.LOGGER);
    private ListAppender<ILoggingEvent> auditLines;

    @AfterEach
    void tearDown() {
        d.close();
        if (auditLines != null) {
            auditLogger.detachAppender(auditLines);
        }
    }

    /** The audit lines from now on. */
    private List<ILoggingEvent> captureAudit() {
        auditLines = new ListAppender<>();
        auditLines.start();
        auditLogger.addAppender(auditLines);
        auditLogger.setLevel(Level.INFO);
        return auditLines.list;
    }

    /** A statement as long as the threshold: the texts below carry it behind what they test. */
    private static String longSelect() {
        return "SELECT '" + "x".repeat(PasswordCommandGate.AHEAD_TEXT) + "'";
    }

    @Test
    void aLongQueryIsClassifiedAheadOnceAndGuardedAsOnTheLoop() {
        String sql = longSelect() + "; ALTER ROLE bob PASSWORD 'pw'";
        Frame q = d.query(sql);
        CompletableFuture<Void> work = d.gate.prepare(q);
        assertNotNull(work, "a text this long is analysed ahead");
        assertEquals(0, d.classifier.classifications, "nothing is classified until the worker runs");
        assertEquals(1, d.runAnalyses());
        assertTrue(work.isDone());
        assertEquals(2, d.classifier.classifications, "both standard_conforming_strings readings, on the worker");

        d.client(q);
        assertEquals(2, d.classifier.classifications, "not classified again on the loop");
        assertEquals(List.of("Q " + longSelect() + "; " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'"), d.sentToBackend());
        d.backend(d.rowDescription(), d.dataRow("x"), d.commandComplete("SELECT 1"), d.commandComplete("DO"),
                d.commandComplete("ALTER ROLE"), d.ready('I'));
        assertEquals(List.of("RowDescription", "DataRow", "CommandComplete SELECT 1", "CommandComplete ALTER ROLE",
                "ReadyForQuery I"), d.sentToClient());
    }

    @Test
    void aLongRestrictedStatementIsRedactedAheadAndItsAuditLineIsCut() {
        List<ILoggingEvent> lines = captureAudit();
        String sql = "ALTER ROLE bob PASSWORD 'secret-pw' /* " + "x".repeat(PasswordCommandGate.AHEAD_TEXT) + " */";
        Frame q = d.query(sql);
        assertNotNull(d.gate.prepare(q));
        d.runAnalyses();
        assertEquals(2, d.classifier.redactions, "the long statement is redacted on the worker, under both readings");
        d.client(q);
        assertEquals(2, d.classifier.classifications);
        assertEquals(2, d.classifier.redactions, "and not again on the loop");
        assertEquals(List.of("Q " + GUARD + "; " + sql), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.ready('I'));
        d.sentToClient();

        assertEquals(1, lines.size());
        String line = lines.get(0).getFormattedMessage();
        assertTrue(line.contains("\"statement\":\"ALTER ROLE bob PASSWORD '***' /* xxx"), line.substring(0, 400));
        assertFalse(line.contains("secret-pw"), "no secret");
        int redactedLength = sql.length() - "'secret-pw'".length() + "'***'".length();
        assertTrue(line.endsWith("x…\",\"statement_length\":" + redactedLength + "}"),
                line.substring(line.length() - 200));
        assertTrue(line.length() < AuditLog.MAX_STATEMENT_CHARS + 1000, "cut to about " + AuditLog.MAX_STATEMENT_CHARS);
    }

    @Test
    void aLongHarmlessQueryPassesUnchangedAndIsNotLexed() {
        Frame q = d.query(longSelect());
        assertNotNull(d.gate.prepare(q));
        d.runAnalyses();
        d.client(q);
        List<Frame> out = d.rawToBackend();
        assertEquals(List.of(q), out, "the frame itself goes on");
        out.forEach(Frame::release);
        assertEquals(0, d.classifier.classifications, "the fast path, run ahead, kept it from the lexer");
    }

    @Test
    void withMessagesInFlightAShorterTextGoesAheadItHasEightTimesTheReadings() {
        // 40 KiB read twice stays on the loop; with a message in flight it is read under 16
        // settings, 640 KiB of lexing, which would hold every session on the loop up.
        String sql = "ALTER ROLE bob PASSWORD 'pw'; SELECT '" + "x".repeat(40 * 1024) + "'";
        Frame idle = d.query(sql);
        assertNull(d.gate.prepare(idle), "idle pipeline: on the loop");
        d.client(idle);
        d.sentToBackend();
        Frame inFlight = d.query(sql);
        assertNotNull(d.gate.prepare(inFlight), "one Query still unanswered: ahead, off the loop");
        d.runAnalyses();
        d.client(inFlight);
        assertEquals(List.of("Q " + GUARD + "; " + sql), d.sentToBackend());
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.backend(d.commandComplete("DO"), d.commandComplete("ALTER ROLE"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void shortTextsOtherMessagesAndQueriesWhileOffAreNotPrepared() {
        Frame shortQuery = d.query("ALTER ROLE bob PASSWORD 'pw'");
        Frame sync = d.sync();
        assertNull(d.gate.prepare(shortQuery));
        assertNull(d.gate.prepare(sync));
        d.client(shortQuery, sync);
        d.sentToBackend();

        d.restrict(false);
        Frame offQuery = d.query(longSelect() + "; ALTER ROLE bob PASSWORD 'pw'");
        assertNull(d.gate.prepare(offQuery), "simple queries are not analysed while the restriction is off");
        d.client(offQuery);
        d.sentToBackend();
        assertTrue(d.analysisQueue.isEmpty());
    }

    @Test
    void aLongParseIsAnalysedAheadEvenWhileOffAndGuardedOnceTurnedOn() {
        d.restrict(false);
        String sql = "ALTER ROLE bob PASSWORD 'pw' /* " + "x".repeat(PasswordCommandGate.AHEAD_TEXT) + " */";
        Frame parse = d.parse("s1", sql);
        assertNotNull(d.gate.prepare(parse), "prepared statements are analysed whatever the setting: it may be turned on");
        d.runAnalyses();
        int ahead = d.classifier.classifications;
        assertEquals(2, ahead);
        d.client(parse);
        assertEquals(ahead, d.classifier.classifications);
        d.restrict(true);
        d.client(d.bind("", "s1"), d.execute(""), d.sync());
        List<String> expected = new ArrayList<>(List.of("P s1 " + sql, "B '' s1", "C P pwgate_guard", "C S pwgate_guard",
                "P pwgate_guard " + GUARD, "B pwgate_guard pwgate_guard", "E pwgate_guard", "E ''", "S"));
        assertEquals(expected, d.sentToBackend());
    }

    @Test
    void aSettingThatJoinsWhileTheWorkerRunsIsClassifiedOnTheLoop() {
        // A function may change client_encoding where the gate cannot see it; the backend then
        // reports it, here while the long text behind it is being analysed.
        d.client(d.query("SELECT f()"));
        d.sentToBackend();
        Frame q = d.query("ALTER ROLE bob PASSWORD 'pw'; " + longSelect());
        assertNotNull(d.gate.prepare(q));
        d.runAnalyses();
        // With SELECT f() in flight: the reported encoding and every one that hides quote bytes.
        List<String> inFlight = new ArrayList<>();
        for (String e : java.util.stream.Stream.concat(java.util.stream.Stream.of("UTF8"),
                LexingWindow.CLIENT_ONLY_ENCODINGS.stream()).toList()) {
            inFlight.add(e);
            inFlight.add(e);
        }
        assertEquals(inFlight, encodings(d.classifier.seen), "the window as it was");

        d.session.onParameterStatus("client_encoding", "LATIN1");
        d.backend(d.parameterStatus("client_encoding", "LATIN1"));
        d.client(q);
        List<String> after = new ArrayList<>(inFlight);
        after.addAll(List.of("LATIN1", "LATIN1"));
        assertEquals(after, encodings(d.classifier.seen),
                "the encoding reported meanwhile is classified on the loop, the others not again");
        assertEquals(List.of("Q " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'; " + longSelect()), d.sentToBackend());
        d.sentToClient();
    }

    @Test
    void onARealWorkerTheAnalysisRunsOffTheCallingThread() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "analysis-worker"));
        List<String> threads = new ArrayList<>();
        StatementClassifier recording = new StatementClassifier() {
            @Override
            public boolean mayConcernRoles(byte[] text, int offset, int length) {
                threads.add(Thread.currentThread().getName());
                return StatementClassifier.POSTGRES.mayConcernRoles(text, offset, length);
            }

            @Override
            public org.pwgate.classifier.Classification classify(byte[] text, int offset, int length, LexSettings s) {
                threads.add(Thread.currentThread().getName());
                return StatementClassifier.POSTGRES.classify(text, offset, length, s);
            }

            @Override
            public String redact(byte[] text, int offset, int length, LexSettings s) {
                return StatementClassifier.POSTGRES.redact(text, offset, length, s);
            }
        };
        try {
            PasswordCommandGate gate = new PasswordCommandGate(d.config::get, d.session, recording,
                    new AuditLog(java.time.Clock.systemUTC(), new org.pwgate.proxy.metrics.PwgateMetrics()), worker);
            Frame q = d.query("ALTER ROLE bob PASSWORD 'pw'; " + longSelect());
            gate.prepare(q).get(30, TimeUnit.SECONDS);
            List<Frame> sent = new ArrayList<>();
            gate.onClientFrame(q, sent::add);
            assertEquals(List.of("analysis-worker", "analysis-worker", "analysis-worker"), threads,
                    "the fast path and both readings ran on the worker, nothing on the caller");
            assertEquals(List.of("Q " + GUARD + "; ALTER ROLE bob PASSWORD 'pw'; " + longSelect()),
                    sent.stream().map(Describe::frontend).toList());
            sent.forEach(Frame::release);
            gate.close();
        } finally {
            worker.shutdownNow();
        }
    }

    // ------------------------------------------------------------ a cancel while frames are held

    static final String CANCELLED = GuardSql.refusal("57014", "canceling statement due to user request");
    static final String STRIPPED_CANCEL = "Error S=ERROR V=ERROR C=57014 M=canceling statement due to user request";

    @Test
    void aCancelWhileTheQueryIsHeldRefusesItInBandWithoutAnAuditLine() {
        List<ILoggingEvent> lines = captureAudit();
        d.gate.cancelHeld();
        d.client(d.query("SELECT 1; ALTER ROLE bob PASSWORD 'pw'"));
        assertEquals(List.of("Q " + CANCELLED + "; SELECT 1; ALTER ROLE bob PASSWORD 'pw'"), d.sentToBackend(),
                "nothing of the text runs: the refusal fails the whole Query");
        assertEquals(0, d.classifier.classifications, "a text that will not run is not classified");
        d.backend(d.error("57014", "canceling statement due to user request"), d.ready('I'));
        assertEquals(List.of(STRIPPED_CANCEL, "ReadyForQuery I"), d.sentToClient(), "the error as PostgreSQL's own");
        assertTrue(lines.isEmpty(), "a cancel is no password command: no audit line");

        d.client(d.query("SELECT 2"));
        assertEquals(List.of("Q SELECT 2"), d.sentToBackend(), "one statement only");
        d.backend(d.rowDescription(), d.dataRow("2"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void aCancelWhileAnExtendedBatchIsHeldRefusesItsExecute() {
        d.gate.cancelHeld();
        d.client(d.parse("", "SELECT pg_sleep(10)"), d.bind("", ""), d.execute(""), d.sync());
        assertEquals(List.of("P '' SELECT pg_sleep(10)", "B '' ''", "C P pwgate_guard", "C S pwgate_guard",
                "P pwgate_guard " + CANCELLED, "B pwgate_guard pwgate_guard", "E pwgate_guard", "E ''", "S"),
                d.sentToBackend());
        d.backend(d.parseComplete(), d.bindComplete(), d.closeComplete(), d.closeComplete(), d.parseComplete(),
                d.bindComplete(), d.error("57014", "canceling statement due to user request"), d.ready('I'));
        assertEquals(List.of("ParseComplete", "BindComplete", STRIPPED_CANCEL, "ReadyForQuery I"), d.sentToClient());
    }

    @Test
    void aCancelAppliesToTheFirstStatementOnlyAndSaysSo() {
        d.gate.cancelHeld();
        d.client(d.query("SELECT 1"), d.query("SELECT 2"));
        assertEquals(List.of("Q " + CANCELLED + "; SELECT 1", "Q SELECT 2"), d.sentToBackend());
        assertTrue(d.gate.cancelApplied());
        assertFalse(d.gate.cancelApplied(), "forgotten once told");
        d.backend(d.error("57014", "canceling statement due to user request"), d.ready('I'),
                d.rowDescription(), d.dataRow("2"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
    }

    @Test
    void aCancelLapsesWithTheFirstBatchItCouldNotRefuse() {
        // Restriction off: the guard's names are the client's to use, so an Execute is not refused,
        // and the cancel must not fall on the statement after the batch instead.
        d.restrict(false);
        d.gate.cancelHeld();
        d.client(d.parse("", "SELECT pg_sleep(10)"), d.bind("", ""), d.execute(""), d.sync(), d.query("SELECT 2"));
        assertEquals(List.of("P '' SELECT pg_sleep(10)", "B '' ''", "E ''", "S", "Q SELECT 2"), d.sentToBackend());
        assertFalse(d.gate.cancelApplied(), "not applied: the relay forwards it");
        d.backend(d.parseComplete(), d.bindComplete(), d.commandComplete("SELECT 1"), d.ready('I'),
                d.rowDescription(), d.dataRow("2"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();

        // A batch that failed before its Execute (the gate skips to the Sync): the same.
        d.restrict(true);
        d.client(d.parse("", "SELECT 1/0"), d.bind("", ""), d.execute(""));
        d.backend(d.parseComplete(), d.bindComplete(), d.error("22012", "division by zero"));
        d.sentToBackend();
        d.sentToClient();
        d.gate.cancelHeld();
        d.client(d.parse("", "SELECT 3"), d.bind("", ""), d.execute(""), d.sync(), d.query("SELECT 4"));
        assertEquals(List.of("P '' SELECT 3", "B '' ''", "E ''", "S", "Q SELECT 4"), d.sentToBackend());
        assertFalse(d.gate.cancelApplied());
        d.backend(d.ready('I'), d.rowDescription(), d.dataRow("4"), d.commandComplete("SELECT 1"), d.ready('I'));
        d.sentToClient();
    }

    private static List<String> encodings(List<LexSettings> seen) {
        return seen.stream().map(LexSettings::clientEncoding).toList();
    }
}
