package org.pwgate.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ClassifierTest {
    private static final LexSettings UTF8 = LexSettings.DEFAULT;

    private static boolean fast(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Classifier.mayConcernRoles(b, 0, b.length);
    }

    private static boolean fast(String s, boolean sc) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Classifier.mayConcernRoles(b, 0, b.length, new LexSettings(sc, "UTF8", 17));
    }

    @Test
    void fastPathSkipsOrdinaryStatements() {
        assertFalse(fast("SELECT id, name FROM users WHERE user_id = $1 AND roles @> ARRAY['a'] ORDER BY grouping"));
        assertFalse(fast("UPDATE accounts SET balance = balance - 10 WHERE id = 42"));
        assertFalse(fast("INSERT INTO passwords_history(v) VALUES ('x')"));
        assertFalse(fast("SELECT 'C:\\temp'", true));
    }

    @Test
    void fastPathFindsKeywordsAndEscapes() {
        assertTrue(fast("alter ROLE x"));
        assertTrue(fast("SELECT 1;GRANT x TO y"));
        assertTrue(fast("SELECT 1ROLE"));
        assertTrue(fast("SELECT $ROLE"));
        assertFalse(fast("SELECT current_user"), "USER inside CURRENT_USER is not the keyword USER");
        assertTrue(fast("SELECT E'\\x52OLE'"));
        assertTrue(fast("SELECT U&'\\0052OLE'"));
        assertTrue(fast("SELECT 'C:\\temp'"), "without settings any backslash is suspicious");
        assertTrue(fast("SELECT '\\x52OLE'", false), "standard_conforming_strings off: plain strings take escapes");
        assertTrue(fast("SELECT e'\\x52OLE'", true));
    }

    @Test
    void spansAreByteOffsetsFromFirstTokenToSemicolon() {
        String sql = "  /* c */ SELECT 'é'; -- x\n ALTER ROLE alice PASSWORD 'pw' ;  ";
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        Classification c = Classifier.classify(b, 0, b.length, UTF8);
        assertEquals(2, c.statements().size());
        Statement first = c.statements().get(0);
        assertEquals("SELECT 'é'", new String(b, first.span().start(), first.span().length(), StandardCharsets.UTF_8));
        Statement second = c.statements().get(1);
        assertEquals("ALTER ROLE alice PASSWORD 'pw' ",
                new String(b, second.span().start(), second.span().length(), StandardCharsets.UTF_8));
        Span secret = second.secrets().get(0);
        assertEquals("'pw'", new String(b, secret.start(), secret.length(), StandardCharsets.UTF_8));
    }

    @Test
    void spansAreRelativeToTheOffset() {
        byte[] b = "xxxxALTER ROLE alice PASSWORD 'pw'yyyy".getBytes(StandardCharsets.US_ASCII);
        Classification c = Classifier.classify(b, 4, b.length - 8, UTF8);
        Statement s = c.statements().get(0);
        assertEquals(new Span(0, b.length - 8), s.span());
        assertEquals(new Span(26, 30), s.secrets().get(0));
    }

    @Test
    void emptyStatementsAreNotListed() {
        assertEquals(0, Classifier.classify(";; -- only a comment\n;", UTF8).statements().size());
        assertEquals(0, Classifier.classify("", UTF8).statements().size());
    }

    @Test
    void redactReplacesEverySecretLiteral() {
        assertEquals("ALTER ROLE alice PASSWORD '***' VALID UNTIL 'infinity'",
                Classifier.redact("ALTER ROLE alice PASSWORD 'pw' VALID UNTIL 'infinity'", UTF8));
        assertEquals("CREATE ROLE a PASSWORD '***'; ALTER ROLE b PASSWORD '***'",
                Classifier.redact("CREATE ROLE a PASSWORD E'x\\'y'; ALTER ROLE b PASSWORD $$z$$", UTF8));
        assertEquals("ALTER ROLE a PASSWORD '***'", Classifier.redact("ALTER ROLE a PASSWORD 'p1'\n'p2'", UTF8));
        assertEquals("ALTER ROLE a PASSWORD NULL", Classifier.redact("ALTER ROLE a PASSWORD NULL", UTF8));
        assertEquals("SELECT 1", Classifier.redact("SELECT 1", UTF8));
    }

    @Test
    void redactHidesBodiesThatSetPasswords() {
        assertEquals("DO '***'", Classifier.redact("DO $$BEGIN ALTER ROLE a PASSWORD 'secret'; END$$", UTF8));
        assertEquals("SELECT dblink_exec('***')",
                Classifier.redact("SELECT dblink_exec(E'ALTER ROLE a \\x50ASSWORD \\'secret\\'')", UTF8));
        // A statement assembled from pieces: no parse points to the password, so the body goes whole.
        assertEquals("DO '***'", Classifier.redact(
                "DO $$ BEGIN EXECUTE 'ALTER ROLE app PASS' || 'WORD ''do-pw2'''; END $$", UTF8));
    }

    @Test
    void aBodyIsLexedAsTheServerHoldsItNotInTheClientsEncoding() {
        // SJIS session: the escapes give the body the UTF-8 bytes e3 81 81 and a backslash. The
        // server's PL/pgSQL sees E'<U+3041>\' /* ' ... and runs the ALTER; read as SJIS, 81 5c
        // would be one character, the string would end and the ALTER would sit in a comment.
        String sql = "DO E'BEGIN PERFORM E''\\xe3\\x81\\x81\\\\'' /* ''; ALTER /* z */ USER app PASSWORD ''pwned''; END -- */'";
        for (boolean sc : new boolean[] {true, false}) {
            Classification c = Classifier.classify(sql, new LexSettings(sc, "SJIS", 17));
            assertEquals(1, c.statements().size(), c.toString());
            assertTrue(c.statements().get(0).is(Kind.EMBEDDED), c.toString());
            assertTrue(c.statements().get(0).targets().stream().anyMatch(t -> t.isNamed("app")), c.toString());
        }
    }

    @Test
    void namesInABodySentInAClientOnlyEncodingAreTheClientsNames() throws Exception {
        // Structure from the server's view, names from the client's bytes: a role named in SJIS
        // inside a DO body is the same role as outside it.
        byte[] sql = "DO $$BEGIN ALTER ROLE \"管理者\" PASSWORD 'x'; END$$".getBytes("Shift_JIS");
        byte[] top = "ALTER ROLE \"管理者\" PASSWORD 'x'".getBytes("Shift_JIS");
        LexSettings sjis = new LexSettings(true, "SJIS", 17);
        Statement inBody = Classifier.classify(sql, 0, sql.length, sjis).statements().get(0);
        Statement atTop = Classifier.classify(top, 0, top.length, sjis).statements().get(0);
        assertTrue(inBody.is(Kind.EMBEDDED), inBody.toString());
        assertEquals(atTop.targets(), inBody.targets());
        assertTrue(inBody.targets().get(0).isNamed("管理者"), inBody.toString());
    }

    @Test
    void redactOfUnlexableTextStopsBeforeAnythingQuoted() {
        String r = Classifier.redact("ALTER ROLE a PASSWORD 'secret", UTF8);
        assertFalse(r.contains("secret"), r);
        assertTrue(r.startsWith("ALTER ROLE a "), r);
        String r2 = Classifier.redact("SELECT E'\\x41LTER ROLE a \\x50ASSWORD ''secret'' /* ", UTF8);
        assertFalse(r2.contains("secret"), r2);
        assertTrue(Classifier.redact("SELECT 1", new LexSettings(true, "EBCDIC", 17)).startsWith("<"));
    }

    @Test
    void allOtherIsTrueOnlyWithoutRestrictedStatements() {
        assertTrue(Classifier.classify("SELECT 1; SELECT 2", UTF8).allOther());
        assertFalse(Classifier.classify("SELECT 1; DROP ROLE x", UTF8).allOther());
    }

    @Test
    void nestingBeyondThreeLevelsStaysRestricted() {
        String inner = "ALTER ROLE a PASSWORD 'x'";
        for (int i = 0; i < 5; i++) {
            inner = "SELECT '" + inner.replace("'", "''") + "'";
        }
        Statement s = Classifier.classify(inner, UTF8).statements().get(0);
        assertTrue(s.is(Kind.EMBEDDED), s.toString());
    }
}
