package org.pwgate.auth;

import java.time.DateTimeException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Looks roles up with a query on pwgate's service connection, like PgBouncer's auth_user /
 * auth_query. The connection (proxy-core's {@link SqlRunner}) must set {@code DateStyle=ISO} and
 * {@code TimeZone=UTC}, so that rolvaliduntil comes back in the form {@link PgTimestamps} reads.
 *
 * <p>The query gets the user name as $1 and returns at most one row, either
 * {@code (name, password)} (the role may log in and never expires) or
 * {@code (name, password, canlogin, validuntil)} like {@link #DEFAULT_QUERY}.
 *
 * <p>The default query reads pg_authid, so the auth user must be a superuser. To avoid that, a
 * superuser can create a SECURITY DEFINER function and set
 * {@code auth_query: "SELECT * FROM pwgate.lookup($1)"}:
 *
 * <pre>
 * CREATE SCHEMA pwgate;
 * CREATE FUNCTION pwgate.lookup(i_username text,
 *     OUT rolname name, OUT rolpassword text, OUT rolcanlogin boolean, OUT rolvaliduntil timestamptz)
 *   RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER
 *   SET search_path = pg_catalog, pg_temp AS $fn$
 *     SELECT a.rolname, a.rolpassword, a.rolcanlogin, a.rolvaliduntil
 *       FROM pg_catalog.pg_authid a WHERE a.rolname = i_username
 * $fn$;
 * REVOKE ALL ON FUNCTION pwgate.lookup(text) FROM PUBLIC;
 * GRANT USAGE ON SCHEMA pwgate TO pwgate_auth;
 * GRANT EXECUTE ON FUNCTION pwgate.lookup(text) TO pwgate_auth;
 * </pre>
 *
 * (Checked on PostgreSQL 17: pwgate_auth can call it and still cannot read pg_authid.)
 */
public final class AuthQuerySource implements CredentialSource {
    public static final String DEFAULT_QUERY =
            "SELECT rolname, rolpassword, rolcanlogin, rolvaliduntil FROM pg_catalog.pg_authid WHERE rolname = $1";

    private final SqlRunner runner;
    private final String query;

    public AuthQuerySource(SqlRunner runner, Optional<String> customQuery) {
        this.runner = Objects.requireNonNull(runner);
        this.query = customQuery.orElse(DEFAULT_QUERY);
    }

    public String query() {
        return query;
    }

    @Override
    public CompletionStage<Optional<Credential>> lookup(String user) {
        return runner.query(query, List.of(user)).thenApply(rows -> toCredential(user, rows));
    }

    @Override
    public CompletionStage<Boolean> healthy() {
        return runner.query("SELECT 1", List.of()).handle((rows, failure) -> failure == null);
    }

    /**
     * Anything unexpected fails the lookup (and so the login) rather than guessing: the error
     * names the problem, never the password column.
     */
    static Optional<Credential> toCredential(String user, List<List<Optional<String>>> rows) {
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        if (rows.size() > 1) {
            throw new AuthSourceException("auth_query returned " + rows.size() + " rows for one user; it must return at most one");
        }
        List<Optional<String>> row = rows.get(0);
        if (row.size() != 2 && row.size() != 4) {
            throw new AuthSourceException("auth_query returned " + row.size()
                    + " columns; it must return (name, password) or (name, password, canlogin, validuntil)");
        }
        if (!row.get(0).map(user::equals).orElse(false)) {
            // The md5 hash is salted with the role name: a row for another role cannot verify this one.
            throw new AuthSourceException("auth_query returned a row for a different role than the one asked for");
        }
        Optional<String> password = row.get(1);
        if (row.size() == 2) {
            return Optional.of(new Credential(user, password, true, Optional.empty()));
        }
        boolean canLogin = parseBool(row.get(2).orElseThrow(
                () -> new AuthSourceException("auth_query returned NULL for canlogin")));
        Optional<Instant> validUntil;
        try {
            validUntil = row.get(3).map(PgTimestamps::parse).filter(t -> !t.equals(Instant.MAX));
        } catch (DateTimeException e) {
            throw new AuthSourceException("auth_query returned an unreadable validuntil (is the service connection's DateStyle ISO?): "
                    + e.getMessage());
        }
        return Optional.of(new Credential(user, password, canLogin, validUntil));
    }

    private static boolean parseBool(String text) {
        return switch (text) {
            case "t", "true" -> true;
            case "f", "false" -> false;
            default -> throw new AuthSourceException("auth_query returned a non-boolean canlogin: " + text);
        };
    }
}
