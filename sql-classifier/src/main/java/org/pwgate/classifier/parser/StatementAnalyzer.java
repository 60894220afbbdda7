package org.pwgate.classifier.parser;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.LexSettings;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Span;
import org.pwgate.classifier.Statement;
import org.pwgate.classifier.lexer.KeywordScan;
import org.pwgate.classifier.lexer.Lexer;
import org.pwgate.classifier.lexer.PgEncoding;
import org.pwgate.classifier.lexer.Tokens;

/**
 * Lex, split, parse, and look inside bodies and literals.
 *
 * <pre>
 * top level (depth 0):  statements split at ';'  -> strict parse from each statement's first token
 *                        BEGIN ATOMIC body        -> anywhere-scan of its tokens
 *                        every string literal     -> embedded text (depth 1)
 * embedded text (1..3):  lexed with standard_conforming_strings on (and off, if it holds a backslash)
 *                        anywhere-scan: a role statement may start at any token (PL/pgSQL, templates)
 *                        every string literal and "quoted" run (strings of PL/Python, PL/v8 …) -> depth+1
 *                        keyword-sequence backstop over the raw bytes (text other languages run)
 * deeper than 3 levels, or an embedded text that holds a restricted word sequence but
 * cannot be lexed -> UNLEXABLE (restricted)
 * more work than the {@link Budget} allows -> the whole text is TOO_COMPLEX (and UNLEXABLE)
 * </pre>
 */
public final class StatementAnalyzer {
    static final int MAX_DEPTH = 3;

    private StatementAnalyzer() {}

    /** Classifies text[from, to) in the session's settings; spans are relative to {@code from}. */
    public static List<Statement> classify(byte[] text, int from, int to, LexSettings settings) {
        try {
            return classify(text, from, to, settings, new Budget());
        } catch (Budget.Exhausted e) {
            return List.of(whole(from, to, from, EnumSet.of(Kind.UNLEXABLE, Kind.TOO_COMPLEX)));
        }
    }

    private static List<Statement> classify(byte[] text, int from, int to, LexSettings settings, Budget budget) {
        PgEncoding enc = PgEncoding.lookup(settings.clientEncoding());
        if (enc == null) {
            return List.of(unlexable(from, to, from));
        }
        byte[] work = enc.mask(text, from, to);
        if (work == null) {
            return List.of(unlexable(from, to, from));
        }
        List<Statement> result = classifyLexable(text, work, from, to, settings, enc, budget);
        if (work != text && maskedAsciiByte(text, work, from, to)) {
            // A server with SQL_ASCII encoding does not convert: it lexes the raw bytes, trailing
            // bytes included. Unless both readings agree, the input is ambiguous.
            List<Statement> raw = classifyLexable(text, text, from, to, settings, enc, budget);
            if (!sameShape(result, raw)) {
                List<Statement> marked = new ArrayList<>(result.size());
                for (Statement s : result) {
                    EnumSet<Kind> kinds = EnumSet.copyOf(s.kinds());
                    kinds.remove(Kind.OTHER);
                    kinds.add(Kind.UNLEXABLE);
                    marked.add(new Statement(s.span(), kinds, s.targets(), s.grantedRoles(), s.members(), s.secrets(),
                            s.scramSecret(), s.md5Secret(), s.revoke()));
                }
                return marked.isEmpty() ? List.of(unlexable(from, to, from)) : marked;
            }
        }
        return result;
    }

    private static boolean maskedAsciiByte(byte[] text, byte[] work, int from, int to) {
        for (int i = from; i < to; i++) {
            if (text[i] != work[i] && text[i] >= 0) {
                return true;
            }
        }
        return false;
    }

    private static boolean sameShape(List<Statement> a, List<Statement> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).span().equals(b.get(i).span()) || !a.get(i).kinds().equals(b.get(i).kinds())) {
                return false;
            }
        }
        return true;
    }

    private static List<Statement> classifyLexable(byte[] text, byte[] work, int from, int to, LexSettings settings,
                                                   PgEncoding enc, Budget budget) {
        Lexer.Result r = Lexer.lex(work, from, to, settings.standardConformingStrings(), settings.serverMajor());
        if (!r.ok()) {
            return List.of(unlexable(from, to, from));
        }
        LexedText x = new LexedText(text, work, from, to, settings.serverMajor(), enc, r.tokens());
        budget.lexed(x.n);
        int[] stmts = Splitter.split(x);
        List<Statement> out = new ArrayList<>(stmts.length / 3);
        for (int s = 0; s < stmts.length; s += 3) {
            int a = stmts[s];
            int b = stmts[s + 1];
            int body = stmts[s + 2];
            Verdict v = new Verdict();
            RoleStatementParser.parse(x, a, b, v, budget);
            if (body >= 0) {
                anywhere(x, body, b, v, true, budget);
                v.embeddedSecret = false; // its secret spans were taken directly
            }
            literals(x, a, b, v, 1, false, budget);
            if (v.kinds.contains(Kind.EMBEDDED)) {
                // A statement that holds role statements in its literals may hold a password in
                // any of them, also where no parse points to it ('… PASS' || 'WORD ''secret'''):
                // for the audit log, every literal of it is masked.
                for (int k = a; k < b; k++) {
                    if (x.t.type(k) == Tokens.SCONST) {
                        v.secrets.add(new Span(x.t.start(k), x.t.end(k)));
                    }
                }
            }
            int start = x.t.start(a) - from;
            int end = (b < x.n ? x.t.start(b) : to) - from;
            out.add(toStatement(v, start, end, from));
        }
        return out;
    }

    private static Statement unlexable(int from, int to, int base) {
        return whole(from, to, base, EnumSet.of(Kind.UNLEXABLE));
    }

    /** One statement over text[from, to) with only these kinds: what is said of a text as a whole. */
    private static Statement whole(int from, int to, int base, EnumSet<Kind> kinds) {
        return new Statement(new Span(from - base, to - base), kinds, List.of(), List.of(), List.of(), List.of(),
                false, false, false);
    }

    private static Statement toStatement(Verdict v, int start, int end, int base) {
        EnumSet<Kind> kinds = EnumSet.copyOf(v.kinds.isEmpty() ? EnumSet.of(Kind.OTHER) : v.kinds);
        if (kinds.size() > 1) {
            kinds.remove(Kind.OTHER);
        }
        List<Span> secrets = new ArrayList<>(v.secrets.size());
        for (Span sp : v.secrets) {
            secrets.add(new Span(sp.start() - base, sp.end() - base));
        }
        secrets.sort((p, q) -> Integer.compare(p.start(), q.start()));
        return new Statement(new Span(start, end), kinds, dedupe(v.targets), dedupe(v.granted), dedupe(v.members),
                dedupeSpans(secrets), v.scram, v.md5, v.revoke);
    }

    private static List<RoleSpec> dedupe(List<RoleSpec> roles) {
        return new ArrayList<>(new LinkedHashSet<>(roles));
    }

    private static List<Span> dedupeSpans(List<Span> spans) {
        List<Span> out = new ArrayList<>(spans.size());
        for (Span s : spans) {
            if (!out.isEmpty() && out.get(out.size() - 1).end() > s.start()) {
                Span last = out.remove(out.size() - 1);
                out.add(new Span(last.start(), Math.max(last.end(), s.end())));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The anywhere-scan over tokens [a, b): a role statement may start at any token (PL/pgSQL
     * blocks, BEGIN ATOMIC bodies, SQL templates). Each one found is parsed up to the next ';',
     * which is found once for all the candidates before it.
     */
    private static void anywhere(LexedText x, int a, int b, Verdict into, boolean sameText, Budget budget) {
        int e = a;
        for (int k = a; k < b; k++) {
            if (!RoleStatementParser.mayStart(x, k)) {
                continue;
            }
            if (e <= k) {
                e = k + 1;
                while (e < b && !x.ch(e, ';')) {
                    e++;
                }
            }
            Verdict inner = new Verdict();
            if (RoleStatementParser.parse(x, k, e, inner, budget) && inner.restricting()) {
                if (sameText) {
                    // A body in the same bytes: its secret spans are real spans of the statement.
                    into.secrets.addAll(inner.secrets);
                    inner.secrets.clear();
                }
                into.absorbEmbedded(inner);
            }
        }
    }

    /**
     * Every string literal in tokens [a, b) (and, in embedded text, every "quoted" run, which other
     * languages use as strings) is decoded and scanned as embedded text at {@code depth}.
     */
    private static void literals(LexedText x, int a, int b, Verdict v, int depth, boolean quotedToo, Budget budget) {
        for (int k = a; k < b; k++) {
            byte type = x.t.type(k);
            if (type != Tokens.SCONST && !(quotedToo && type == Tokens.QIDENT)) {
                continue;
            }
            if (v.consumedLiterals.get(k)) {
                continue;
            }
            if (!literalMayConcernRoles(x, k)) {
                continue;
            }
            byte[] value = x.value(k);
            if (value == null) {
                continue; // invalid escapes: the server rejects the statement
            }
            // In a client-only encoding the server's view of the value differs from the client's
            // bytes: its structure is lexed from that view (see LexedText.serverValue), names are
            // still read from the client's bytes, which lie at the same positions.
            byte[] view = x.encoding.clientOnly() ? x.serverValue(k) : null;
            Verdict inner = embedded(value, view, x.encoding, x.serverMajor, depth, budget);
            if (inner.restricting()) {
                v.absorbEmbedded(inner);
                if (v.embeddedSecret) {
                    v.secrets.add(new Span(x.t.start(k), x.t.end(k)));
                    v.embeddedSecret = false;
                }
            }
        }
    }

    /** Fast check on the raw token bytes, exact unless decoding can create words (escapes, continuation). */
    private static boolean literalMayConcernRoles(LexedText x, int k) {
        byte mode = x.t.mode(k);
        if (x.t.continued(k) || mode == Tokens.MODE_XUS || mode == Tokens.MODE_XUI) {
            return true;
        }
        return KeywordScan.mayStartRoleStatement(x.work, x.t.start(k), x.t.end(k) - x.t.start(k));
    }

    /** Classifies the decoded value of a body or literal. */
    static Verdict embedded(byte[] text, PgEncoding enc, int serverMajor, int depth, Budget budget) {
        return embedded(text, null, enc, serverMajor, depth, budget);
    }

    /**
     * As above; {@code view}, when not null, is the value as the server holds it, position for
     * position (LexedText.serverValue): lexed as it is, while names come from {@code text} in
     * {@code enc}.
     */
    static Verdict embedded(byte[] text, byte[] view, PgEncoding enc, int serverMajor, int depth, Budget budget) {
        Verdict v = new Verdict();
        if (!KeywordScan.mayStartRoleStatement(text, 0, text.length)) {
            return v;
        }
        if (depth > MAX_DEPTH) {
            v.kinds.add(Kind.UNLEXABLE);
            return v;
        }
        embeddedPass(text, view, enc, serverMajor, depth, true, v, budget);
        if (indexOf(view != null ? view : text, (byte) '\\') >= 0) {
            // The text may run in a session with standard_conforming_strings off.
            embeddedPass(text, view, enc, serverMajor, depth, false, v, budget);
        }
        if (!v.restricting() && KeywordScan.restrictedSequence(text, 0, text.length)) {
            // Words of a role statement where the SQL lexer saw none: comments of another
            // language, text that does not lex as SQL. Be strict.
            v.kinds.add(Kind.UNLEXABLE);
        }
        return v;
    }

    private static void embeddedPass(byte[] text, byte[] view, PgEncoding enc, int serverMajor, int depth, boolean sc,
                                     Verdict v, Budget budget) {
        byte[] work = view != null ? view : enc.mask(text, 0, text.length);
        if (work == null) {
            return; // arbitrary bytes; the keyword-sequence backstop decides
        }
        Lexer.Result r = Lexer.lex(work, 0, text.length, sc, serverMajor);
        if (!r.ok()) {
            return;
        }
        LexedText x = new LexedText(text, work, 0, text.length, serverMajor, enc, r.tokens());
        budget.lexed(x.n);
        Verdict found = new Verdict();
        anywhere(x, 0, x.n, found, true, budget);
        literals(x, 0, x.n, found, depth + 1, true, budget);
        if (found.restricting()) {
            // Keep the inner kinds (they make the outer statement EMBEDDED) and what they name.
            v.merge(found);
            if (!found.secrets.isEmpty()) {
                v.embeddedSecret = true;
            }
        }
    }

    private static int indexOf(byte[] b, byte c) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }
}
