package org.pwgate.classifier.parser;

/**
 * Bounds the work of one classification, so that no text, however built, makes it quadratic in
 * time or memory. The parsers may touch each token the lexer produced about twice, plus a fixed
 * allowance; that is more than any real text needs, because a role statement found by the
 * anywhere-scan ends at the next ';' and the statements of a body do not overlap. Only text with
 * many role-statement openings and no ';' between them (never valid SQL or PL/pgSQL, but
 * possible inside a string literal) needs more. Names and secret spans collected are capped the
 * same way. When either runs out, the classification stops with {@link Exhausted}, and the text
 * is TOO_COMPLEX: refused, for everyone, with PostgreSQL's statement_too_complex.
 */
final class Budget {
    /** Token touches allowed on top of two per lexed token: at most about a quarter of a second of parsing. */
    static final long BASE_STEPS = 50_000_000;
    /** Role names and secret spans one text may make the parser collect. */
    static final int MAX_NAMES = 100_000;

    /** The budget ran out. No stack trace: it is a verdict, not a bug. */
    static final class Exhausted extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Exhausted() {
            super(null, null, false, false);
        }
    }

    private long stepsLeft = BASE_STEPS;
    private int namesLeft = MAX_NAMES;

    /** The lexer produced {@code tokens} more tokens for the parsers to look at. */
    void lexed(int tokens) {
        stepsLeft += 2L * tokens;
    }

    /** A parse touched {@code tokens} tokens. */
    void scanned(long tokens) {
        stepsLeft -= tokens;
        if (stepsLeft < 0) {
            throw new Exhausted();
        }
    }

    /** A role name or secret span was collected. */
    void name() {
        if (--namesLeft < 0) {
            throw new Exhausted();
        }
    }
}
