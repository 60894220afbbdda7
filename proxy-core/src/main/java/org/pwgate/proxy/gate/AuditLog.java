package org.pwgate.proxy.gate;

import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import org.pwgate.proxy.session.SessionState;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One JSON object per restricted statement, allowed or refused, on the logger {@value #LOGGER}
 * (logback routes it to its own appender with pattern {@code %msg%n}). The statement is the
 * classifier's redaction; when a statement cannot be redacted safely it is left out. A redaction
 * longer than {@value #MAX_STATEMENT_CHARS} characters is cut there, ending in "…", and its full
 * length is given as {@code statement_length}: a 60 MB comment behind an ALTER ROLE would otherwise
 * make one log line of 60 MB, which log shippers cut or drop anyway.
 */
final class AuditLog {
    static final String LOGGER = "pwgate.audit";
    static final int MAX_STATEMENT_CHARS = 16_384;

    enum Verdict {
        /** The guard completed: the statement ran (PostgreSQL's own checks still apply). */
        ALLOWED("allowed"),
        /** The guard raised, or the statement is refused to everyone. */
        REFUSED("refused"),
        /** An earlier error skipped the statement: neither guard nor statement ran. */
        SKIPPED("skipped");

        final String json;

        Verdict(String json) {
            this.json = json;
        }
    }

    private final Logger log;
    private final Clock clock;
    private final PwgateMetrics metrics;

    AuditLog(Clock clock, PwgateMetrics metrics) {
        this(LoggerFactory.getLogger(LOGGER), clock, metrics);
    }

    AuditLog(Logger log, Clock clock, PwgateMetrics metrics) {
        this.log = log;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** A guard statement went to the backend (counted; the verdict is recorded when its answer comes). */
    void guardInjected() {
        metrics.guardInjected();
    }

    /** One line for {@code g}; none for a guard that stands for no statement of the client's (a cancel's refusal). */
    void record(SessionState session, Guarded g, Verdict verdict) {
        if (g.analysis() == null) {
            return;
        }
        if (verdict != Verdict.SKIPPED) {
            for (var k : g.analysis().kinds()) {
                metrics.restricted(k, verdict == Verdict.ALLOWED);
            }
        }
        if (!log.isInfoEnabled()) {
            return;
        }
        StringBuilder sb = new StringBuilder(256);
        sb.append("{\"time\":");
        string(sb, Instant.now(clock).toString());
        sb.append(",\"session\":").append(session.sessionId());
        sb.append(",\"client\":");
        string(sb, String.valueOf(session.clientAddress()));
        sb.append(",\"user\":");
        string(sb, session.user());
        sb.append(",\"database\":");
        string(sb, session.database());
        sb.append(",\"kinds\":");
        array(sb, g.analysis().kinds().stream().map(Enum::name).toList());
        sb.append(",\"roles\":");
        array(sb, g.analysis().roles());
        sb.append(",\"verdict\":");
        string(sb, verdict.json);
        if (verdict == Verdict.REFUSED) {
            sb.append(",\"sqlstate\":");
            string(sb, g.decision().sqlState());
            sb.append(",\"reason\":");
            string(sb, g.decision().message());
        }
        sb.append(",\"statement\":");
        String statement = g.analysis().redacted();
        if (statement == null) {
            sb.append("null");
        } else if (statement.length() > MAX_STATEMENT_CHARS) {
            int cut = MAX_STATEMENT_CHARS;
            if (Character.isHighSurrogate(statement.charAt(cut - 1))) {
                cut--; // not half a character
            }
            string(sb, statement.substring(0, cut) + "…");
            sb.append(",\"statement_length\":").append(statement.length());
        } else {
            string(sb, statement);
        }
        sb.append('}');
        log.info(sb.toString());
    }

    private static void array(StringBuilder sb, Collection<String> values) {
        sb.append('[');
        boolean first = true;
        for (String v : values) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            string(sb, v);
        }
        sb.append(']');
    }

    /** A JSON string (RFC 8259): quote, backslash and control characters escaped. */
    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
