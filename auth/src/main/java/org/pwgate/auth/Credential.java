package org.pwgate.auth;

import java.time.Instant;
import java.util.Optional;

/**
 * What a credential source knows about one role: its stored password ({@code rolpassword}, which
 * may be an md5 hash, a SCRAM verifier or absent), whether it may log in, and until when.
 * {@code toString} never shows the stored password.
 */
public record Credential(String user, Optional<String> storedPassword, boolean canLogin, Optional<Instant> validUntil) {
    @Override
    public String toString() {
        return "Credential[user=" + user + ", canLogin=" + canLogin + ", validUntil=" + validUntil + "]";
    }
}
