package org.pwgate.classifier;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Runs every corpus case and reports every failure, not just the first. */
class CorpusTest {

    @Test
    void everyCorpusCaseClassifiesAsExpected() throws Exception {
        List<CorpusCase> cases = CorpusCase.load();
        assertTrue(cases.size() >= 300, "the corpus must hold at least 300 cases, has " + cases.size());
        List<String> failures = new ArrayList<>();
        for (CorpusCase c : cases) {
            String problem = check(c);
            if (problem != null) {
                failures.add(c.where() + "  " + c.source() + "\n      " + problem);
            }
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + cases.size() + " corpus cases failed:\n  " + String.join("\n  ", failures));
        }
    }

    static String check(CorpusCase c) {
        Classification r;
        try {
            r = Classifier.classify(c.sql(), 0, c.sql().length, c.settings());
        } catch (RuntimeException e) {
            return "threw " + e;
        }
        List<Statement> st = r.statements();
        String actualKinds = st.stream()
                .map(s -> s.kinds().stream().map(Enum::name).sorted().collect(Collectors.joining(",")))
                .collect(Collectors.joining("|"));
        String expectedKinds = Arrays.stream(c.expect().get("k").split("\\|"))
                .map(k -> Arrays.stream(k.split(",")).sorted().collect(Collectors.joining(",")))
                .collect(Collectors.joining("|"));
        List<String> problems = new ArrayList<>();
        if (!actualKinds.equals(expectedKinds)) {
            problems.add("kinds " + actualKinds + " expected " + expectedKinds);
        }
        checkRoles(c, "t", st.stream().flatMap(s -> s.targets().stream()).toList(), problems);
        checkRoles(c, "g", st.stream().flatMap(s -> s.grantedRoles().stream()).toList(), problems);
        checkRoles(c, "m", st.stream().flatMap(s -> s.members().stream()).toList(), problems);
        boolean scram = st.stream().anyMatch(Statement::scramSecret);
        boolean md5 = st.stream().anyMatch(Statement::md5Secret);
        boolean revoke = st.stream().anyMatch(Statement::revoke);
        if (scram != c.expect().containsKey("scram")) {
            problems.add("scram flag " + scram);
        }
        if (md5 != c.expect().containsKey("md5")) {
            problems.add("md5 flag " + md5);
        }
        if (c.expect().get("k").contains("MEMBERSHIP") && revoke != c.expect().containsKey("revoke")) {
            problems.add("revoke flag " + revoke);
        }
        if (c.expect().containsKey("s")) {
            long n = st.stream().mapToLong(s -> s.secrets().size()).sum();
            if (n != Long.parseLong(c.expect().get("s"))) {
                problems.add(n + " secret spans, expected " + c.expect().get("s"));
            }
        }
        for (Statement s : st) {
            if (s.span().start() < 0 || s.span().end() > c.sql().length || s.span().start() > s.span().end()) {
                problems.add("bad span " + s.span());
            }
            for (Span sec : s.secrets()) {
                if (sec.start() < s.span().start() || sec.end() > s.span().end()) {
                    problems.add("secret " + sec + " outside its statement " + s.span());
                }
            }
        }
        return problems.isEmpty() ? null : String.join("; ", problems);
    }

    private static void checkRoles(CorpusCase c, String key, List<RoleSpec> actual, List<String> problems) {
        String want = c.expect().get(key);
        if (want == null) {
            return;
        }
        Set<String> expected = want.equals("-") ? Set.of() : new TreeSet<>(Arrays.asList(want.split(",")));
        Set<String> got = actual.stream().map(RoleSpec::toString).collect(Collectors.toCollection(TreeSet::new));
        if (!got.equals(expected)) {
            problems.add(key + "=" + got + " expected " + expected);
        }
    }
}
