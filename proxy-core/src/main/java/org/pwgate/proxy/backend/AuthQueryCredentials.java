package org.pwgate.proxy.backend;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.pwgate.auth.Credential;
import org.pwgate.auth.CredentialSource;
import org.pwgate.auth.SqlRunner;

/**
 * auth_query over the service connection: one row (rolname, rolpassword, rolcanlogin,
 * rolvaliduntil) per user, read as text in DateStyle ISO and TimeZone UTC. Stands in until the
 * auth module's AuthQuerySource is wired in.
 */
public final class AuthQueryCredentials implements CredentialSource {
    public static final String DEFAULT_QUERY =
            "SELECT rolname, rolpassword, rolcanlogin, rolvaliduntil FROM pg_catalog.pg_authid WHERE rolname = $1";

    // ISO output of timestamptz: "2030-01-01 00:00:00+00", optional fraction, offset +hh[:mm[:ss]].
    private static final DateTimeFormatter ISO_TIMESTAMPTZ = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .appendOffset("+HH:mm:ss", "+00")
            .toFormatter();

    private final SqlRunner runner;
    private final String query;

    public AuthQueryCredentials(SqlRunner runner, Optional<String> query) {
        this.runner = runner;
        this.query = query.orElse(DEFAULT_QUERY);
    }

    @Override
    public CompletionStage<Optional<Credential>> lookup(String user) {
        return runner.query(query, List.of(user)).thenApply(rows -> {
            if (rows.isEmpty()) {
                return Optional.empty();
            }
            List<Optional<String>> row = rows.get(0);
            String name = row.get(0).orElse(user);
            Optional<String> password = row.size() > 1 ? row.get(1) : Optional.empty();
            boolean canLogin = row.size() <= 2 || row.get(2).map(v -> v.equals("t") || v.equals("true")).orElse(false);
            Optional<Instant> validUntil = row.size() > 3 ? row.get(3).map(AuthQueryCredentials::parseTimestamp) : Optional.empty();
            return Optional.of(new Credential(name, password, canLogin, validUntil));
        });
    }

    static Instant parseTimestamp(String text) {
        if (text.equals("infinity")) {
            return Instant.MAX;
        }
        if (text.equals("-infinity")) {
            return Instant.MIN;
        }
        return OffsetDateTime.parse(text, ISO_TIMESTAMPTZ).toInstant();
    }

    @Override
    public CompletionStage<Boolean> healthy() {
        return runner.query("SELECT 1", List.of()).handle((r, e) -> e == null);
    }
}
