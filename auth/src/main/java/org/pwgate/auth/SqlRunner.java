package org.pwgate.auth;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Runs one parameterised query on pwgate's service connection and returns its rows as text
 * (null columns as empty Optionals). Implemented by proxy-core over its own protocol client, so
 * that auth needs no network code and can log in with an md5 hash (pass-the-hash).
 */
@FunctionalInterface
public interface SqlRunner {
    CompletionStage<List<List<Optional<String>>>> query(String sql, List<String> params);
}
