package org.pwgate.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The classifier's work stays linear in its input: text built to make it quadratic is TOO_COMPLEX
 * (with UNLEXABLE, so it is restricted) instead of taking minutes and gigabytes, while large
 * real texts keep their exact verdicts. Each case has a deadline, not a speed target: before
 * the budget, the first one took 14 s at 176 KB and ran out of a 6 GiB heap at 59 MB.
 */
class ClassifierBoundsTest {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static Statement only(String sql) {
        Classification c = assertTimeoutPreemptively(DEADLINE, () -> Classifier.classify(sql, LexSettings.DEFAULT));
        assertEquals(1, c.statements().size(), c.toString());
        return c.statements().get(0);
    }

    @Test
    void roleStatementOpeningsWithoutSemicolonsInALiteralAreTooComplex() {
        Statement s = only("SELECT length('" + "alter role x password ".repeat(200_000) + "')");
        assertTrue(s.is(Kind.TOO_COMPLEX), s.kinds().toString());
        assertTrue(s.is(Kind.UNLEXABLE), "too complex must read as restricted everywhere UNLEXABLE does");
    }

    @Test
    void theSameInADoBodyIsTooComplex() {
        Statement s = only("DO $$ " + "grant x ".repeat(200_000) + " $$");
        assertTrue(s.is(Kind.TOO_COMPLEX), s.kinds().toString());
    }

    @Test
    void aStatementNamingMoreRolesThanTheCapIsTooComplex() {
        String many = IntStream.range(0, 100_001).mapToObj(i -> "u" + i).collect(Collectors.joining(", "));
        Statement s = only("GRANT some_role TO " + many);
        assertTrue(s.is(Kind.TOO_COMPLEX), s.kinds().toString());
    }

    @Test
    void aLargeGrantUnderTheCapKeepsItsVerdictAndEveryName() {
        String many = IntStream.range(0, 50_000).mapToObj(i -> "u" + i).collect(Collectors.joining(", "));
        Statement s = only("GRANT some_role TO " + many);
        assertFalse(s.is(Kind.TOO_COMPLEX));
        assertTrue(s.is(Kind.MEMBERSHIP));
        assertEquals(50_000, s.members().size());
    }

    @Test
    void aLargeBodyOfRealStatementsKeepsItsExactVerdict() {
        // 20,000 password statements, each ended by ';' as PL/pgSQL requires: about 600 KB.
        String body = IntStream.range(0, 20_000).mapToObj(i -> "ALTER ROLE r" + i + " PASSWORD 'p" + i + "';")
                .collect(Collectors.joining("\n"));
        Statement s = only("DO $$ BEGIN " + body + " END $$");
        assertFalse(s.is(Kind.TOO_COMPLEX));
        assertTrue(s.is(Kind.EMBEDDED), s.kinds().toString());
        assertEquals(20_000, s.targets().size());
    }

    @Test
    void aBodyWithoutSemicolonsAndSomeRoleStatementsStaysExact() {
        // Another language's body (PL/Python, say) has no ';' between its lines, and its comments
        // are not SQL comments: each role statement in them is parsed to the body's end. 100 of
        // them in 10,000 lines of other code stay within the budget and keep every name.
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            body.append(i % 100 == 0 ? "# then alter role r" + i + " valid until 'infinity'\n" : "x = x + " + i + "\n");
        }
        Statement s = only("CREATE FUNCTION f() RETURNS void LANGUAGE plpython3u AS $py$\n" + body + "$py$");
        assertFalse(s.is(Kind.TOO_COMPLEX), s.kinds().toString());
        assertTrue(s.is(Kind.EMBEDDED), s.kinds().toString());
        assertTrue(s.targets().contains(RoleSpec.named("r0")) && s.targets().contains(RoleSpec.named("r9900")), s.targets().toString());
    }
}
