package org.pwgate.classifier;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.pwgate.classifier.lexer.KeywordScan;
import org.pwgate.classifier.lexer.Lexer;
import org.pwgate.classifier.lexer.PgEncoding;
import org.pwgate.classifier.parser.StatementAnalyzer;

/**
 * Entry point of the classifier: pure functions, thread-safe, no I/O.
 *
 * <pre>
 * bytes --fast path--> OTHER (no keyword that can start or embed a restricted statement)
 *       --decode/mask (client_encoding)--> lexer --> splitter (top-level ';') --> role-statement parser --> verdicts
 *                                                                   \--> bodies and string literals, classified again (EMBEDDED)
 * </pre>
 *
 * <p>The fast path and its reasoning (why an ASCII word search is exact for keywords, and why
 * backslashes and U&amp; make it answer "maybe") are in {@link KeywordScan}. The lexer mirrors
 * scan.l ({@code org.pwgate.classifier.lexer.Lexer}); the splitter and the role-statement parser
 * live in {@code org.pwgate.classifier.parser}. Anything the lexer cannot read the way PostgreSQL
 * would (unterminated comment, string, dollar quote or quoted identifier, zero-length quoted
 * identifier, bad UESCAPE or Unicode escape, U&amp;'…' with standard_conforming_strings off, an
 * unknown client encoding, an invalid character in a client-only encoding, or a client-only text
 * whose reading differs between a converting server and an SQL_ASCII one) is UNLEXABLE, which the
 * gate treats as restricted. The server rejects all of those but the last two anyway.
 */
public final class Classifier {
    private Classifier() {}

    /**
     * Fast path: false when the bytes hold none of the ASCII words that can start or embed a
     * restricted statement (case-insensitive), so the text needs no lexing. Allocation-free.
     * Without the session settings, any backslash or U&amp; answers true.
     */
    public static boolean mayConcernRoles(byte[] text, int offset, int length) {
        return KeywordScan.mayConcernRoles(text, offset, length);
    }

    /**
     * As {@link #mayConcernRoles(byte[], int, int)}, knowing standard_conforming_strings: with it
     * on, a backslash only matters when an E'…' literal may hold it.
     */
    public static boolean mayConcernRoles(byte[] text, int offset, int length, LexSettings settings) {
        return KeywordScan.mayConcernRoles(text, offset, length, settings.standardConformingStrings());
    }

    /** Classifies {@code text[offset, offset+length)}, given in the session's client_encoding. Spans are relative to {@code offset}. */
    public static Classification classify(byte[] text, int offset, int length, LexSettings settings) {
        return new Classification(StatementAnalyzer.classify(text, offset, offset + length, settings));
    }

    /** Convenience for tests and tools: the text is encoded as UTF-8; spans are UTF-8 byte offsets. */
    public static Classification classify(String text, LexSettings settings) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return classify(bytes, 0, bytes.length, settings);
    }

    /**
     * True exactly when the encoding is known, the text is valid in it, and lexing it under
     * {@code settings} fails as PostgreSQL's scanner would (an unterminated literal or comment,
     * say), which makes PostgreSQL reject the whole text before any of it runs. Never throws.
     */
    public static boolean lexesWithAnError(byte[] text, int offset, int length, LexSettings settings) {
        try {
            PgEncoding enc = PgEncoding.lookup(settings.clientEncoding());
            if (enc == null) {
                return false;
            }
            byte[] work = enc.mask(text, offset, offset + length);
            if (work == null) {
                return false;
            }
            return !Lexer.lex(work, offset, offset + length,
                    settings.standardConformingStrings(), settings.serverMajor()).ok();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * The text with every secret literal replaced by {@code '***'}, decoded for logging. Never throws.
     * A literal that embeds a password statement (a DO body, a dblink_exec argument) is replaced whole.
     * Text that cannot be lexed is cut before its first quote, dollar, backslash or PASSWORD word.
     */
    public static String redact(byte[] text, int offset, int length, LexSettings settings) {
        try {
            PgEncoding enc = PgEncoding.lookup(settings.clientEncoding());
            if (enc == null) {
                return "<statement in unknown encoding, " + length + " bytes>";
            }
            List<Statement> statements = StatementAnalyzer.classify(text, offset, offset + length, settings);
            List<Span> secrets = new ArrayList<>();
            for (Statement s : statements) {
                if (s.is(Kind.UNLEXABLE)) {
                    return redactUnlexable(text, offset, length, enc);
                }
                secrets.addAll(s.secrets());
            }
            secrets.sort((a, b) -> Integer.compare(a.start(), b.start()));
            byte[] stars = "'***'".getBytes(StandardCharsets.US_ASCII);
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(length);
            int p = 0;
            for (Span s : secrets) {
                if (s.start() < p) {
                    continue;
                }
                out.write(text, offset + p, s.start() - p);
                out.write(stars, 0, stars.length);
                p = s.end();
            }
            out.write(text, offset + p, length - p);
            byte[] r = out.toByteArray();
            return enc.decode(r, 0, r.length);
        } catch (RuntimeException e) {
            return "<unredactable statement, " + length + " bytes>";
        }
    }

    public static String redact(String text, LexSettings settings) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return redact(bytes, 0, bytes.length, settings);
    }

    private static String redactUnlexable(byte[] text, int offset, int length, PgEncoding enc) {
        int cut = length;
        for (int i = 0; i < length; i++) {
            int c = text[offset + i];
            if (c == '\'' || c == '"' || c == '$' || c == '\\' || c < 0
                    || ((c | 0x20) == 'p' && org.pwgate.classifier.lexer.Ascii.equalsIgnoreCase(text, offset + i, "password"))) {
                cut = i;
                break;
            }
        }
        return enc.decode(text, offset, cut) + "<redacted: unlexable, " + length + " bytes>";
    }
}
