package org.pwgate.proxy.admin;

import java.util.Objects;

/**
 * The answer of a readiness check: {@code reason} says what is missing when not ready. It is
 * shown on /readyz, so it names components ("backend 127.0.0.1:5432 unreachable"), never a
 * credential or a query.
 */
public record Readiness(boolean ready, String reason) {
    public Readiness {
        Objects.requireNonNull(reason);
    }

    public static Readiness up() {
        return new Readiness(true, "ready");
    }

    public static Readiness down(String reason) {
        return new Readiness(false, reason);
    }
}
