package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class AuthQuerySourceTest {
    private static final String HASH = "md5534b9a3588bdd87bf7c3b9d650e43e46";

    /** Answers every query with {@code rows} and records what was asked. */
    private static final class FakeRunner implements SqlRunner {
        final List<String> sql = new ArrayList<>();
        final List<List<String>> params = new ArrayList<>();
        final CompletableFuture<List<List<Optional<String>>>> answer;

        FakeRunner(CompletableFuture<List<List<Optional<String>>>> answer) {
            this.answer = answer;
        }

        @Override
        public CompletableFuture<List<List<Optional<String>>>> query(String s, List<String> p) {
            sql.add(s);
            params.add(p);
            return answer;
        }
    }

    @SafeVarargs
    private static FakeRunner answering(List<Optional<String>>... rows) {
        return new FakeRunner(CompletableFuture.completedFuture(List.of(rows)));
    }

    private static List<Optional<String>> row(String... cols) {
        return Arrays.stream(cols).map(Optional::ofNullable).toList();
    }

    private static Optional<Credential> lookup(SqlRunner r, String user) throws Exception {
        return new AuthQuerySource(r, Optional.empty()).lookup(user).toCompletableFuture().get();
    }

    @Test
    void defaultQueryAsksPgAuthidWithTheUserAsParameter() throws Exception {
        FakeRunner r = answering(row("app", HASH, "t", null));
        Credential c = lookup(r, "app").orElseThrow();
        assertEquals(List.of(AuthQuerySource.DEFAULT_QUERY), r.sql);
        assertEquals(List.of(List.of("app")), r.params);
        assertEquals(new Credential("app", Optional.of(HASH), true, Optional.empty()), c);
    }

    @Test
    void readsCanLoginAndValidUntil() throws Exception {
        // The row pwgate.lookup('app') returned on PostgreSQL 17 with TimeZone UTC.
        Credential c = lookup(answering(row("app", HASH, "f", "2031-02-03 03:05:06.5+00")), "app").orElseThrow();
        assertFalse(c.canLogin());
        assertEquals(Optional.of(Instant.parse("2031-02-03T03:05:06.500Z")), c.validUntil());
        assertEquals(Optional.empty(), lookup(answering(row("app", HASH, "t", "infinity")), "app").orElseThrow().validUntil());
        assertEquals(Optional.of(Instant.MIN), lookup(answering(row("app", HASH, "t", "-infinity")), "app").orElseThrow().validUntil());
    }

    @Test
    void nullPasswordIsKeptAsAbsent() throws Exception {
        assertEquals(Optional.empty(), lookup(answering(row("app", null, "t", null)), "app").orElseThrow().storedPassword());
    }

    @Test
    void noRowMeansUnknownUser() throws Exception {
        assertEquals(Optional.empty(), lookup(answering(), "ghost"));
    }

    @Test
    void customTwoColumnQueryMeansLoginAllowedWithoutExpiry() throws Exception {
        FakeRunner r = answering(row("app", HASH));
        Credential c = new AuthQuerySource(r, Optional.of("SELECT usename, passwd FROM pwgate.users WHERE usename = $1"))
                .lookup("app").toCompletableFuture().get().orElseThrow();
        assertEquals("SELECT usename, passwd FROM pwgate.users WHERE usename = $1", r.sql.get(0));
        assertTrue(c.canLogin());
        assertEquals(Optional.empty(), c.validUntil());
    }

    private static AuthSourceException failure(SqlRunner r) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> lookup(r, "app"));
        AuthSourceException a = assertInstanceOf(AuthSourceException.class, e.getCause());
        assertFalse(a.getMessage().contains(HASH.substring(3)), a.getMessage());
        return a;
    }

    @Test
    void unexpectedResultsFailTheLookupInsteadOfGuessing() {
        assertTrue(failure(answering(row("app", HASH, "t", null), row("app", HASH, "t", null))).getMessage().contains("2 rows"));
        assertTrue(failure(answering(row("app", HASH, "t"))).getMessage().contains("3 columns"));
        assertTrue(failure(answering(row("APP", HASH))).getMessage().contains("different role"));
        assertTrue(failure(answering(row("app", HASH, "maybe", null))).getMessage().contains("canlogin"));
        assertTrue(failure(answering(row("app", HASH, null, null))).getMessage().contains("canlogin"));
        assertTrue(failure(answering(row("app", HASH, "t", "01/02/2031"))).getMessage().contains("DateStyle"));
    }

    @Test
    void healthFollowsTheServiceConnection() throws Exception {
        assertTrue(new AuthQuerySource(answering(row("1")), Optional.empty()).healthy().toCompletableFuture().get());
        FakeRunner down = new FakeRunner(CompletableFuture.failedFuture(new java.io.IOException("connection refused")));
        assertFalse(new AuthQuerySource(down, Optional.empty()).healthy().toCompletableFuture().get());
    }

    @Test
    void sourceFailurePropagates() {
        FakeRunner down = new FakeRunner(CompletableFuture.failedFuture(new java.io.IOException("connection refused")));
        ExecutionException e = assertThrows(ExecutionException.class, () -> lookup(down, "app"));
        assertInstanceOf(java.io.IOException.class, e.getCause());
    }
}
