package org.pwgate.auth;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Looks a role up by name. Completes with empty for an unknown role; completes exceptionally
 * only when the source itself fails (database unreachable, unreadable file).
 * Implementations must not block the caller's thread.
 */
public interface CredentialSource extends AutoCloseable {
    CompletionStage<Optional<Credential>> lookup(String user);

    /** True when the source can currently answer (for readiness checks). */
    default CompletionStage<Boolean> healthy() {
        return java.util.concurrent.CompletableFuture.completedFuture(true);
    }

    @Override
    default void close() {}
}
