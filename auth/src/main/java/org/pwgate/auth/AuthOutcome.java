package org.pwgate.auth;

import org.pwgate.config.Secret;

/**
 * The result of checking one client's MD5 response. Whatever the refusal's {@link Reason}, the
 * client sees the same error ({@link ClientAuthenticator#failureMessage}); the reason is for the
 * log and the metrics only.
 */
public sealed interface AuthOutcome {
    String user();

    default boolean accepted() {
        return this instanceof Accepted;
    }

    /**
     * The client proved it knows the password. {@code storedMd5} is the role's md5 hash, which
     * answers the backend's MD5 challenge for the same role (pass-the-hash).
     */
    record Accepted(String user, Secret storedMd5) implements AuthOutcome {}

    record Refused(String user, Reason reason) implements AuthOutcome {}

    enum Reason {
        /** No such role in the credential source. */
        UNKNOWN_USER,
        /** The response does not match the stored password. */
        WRONG_PASSWORD,
        /** Right password, but the role has rolcanlogin = false. */
        NOLOGIN,
        /** Right password, but VALID UNTIL has passed. */
        EXPIRED,
        /** The role has no password (rolpassword is NULL or empty). */
        NULL_PASSWORD,
        /** The role's password is a SCRAM verifier, which cannot check an MD5 response. */
        SCRAM_PASSWORD,
        /** The PasswordMessage is not "md5" + 32 hex digits (e.g. a cleartext password). */
        MALFORMED_RESPONSE
    }
}
