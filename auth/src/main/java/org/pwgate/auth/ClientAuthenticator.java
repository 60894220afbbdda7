package org.pwgate.auth;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.pwgate.auth.AuthOutcome.Accepted;
import org.pwgate.auth.AuthOutcome.Reason;
import org.pwgate.auth.AuthOutcome.Refused;
import org.pwgate.config.Secret;

/**
 * Decides a client's MD5 login: given what the credential source knows about the role, the salt
 * pwgate sent and the client's PasswordMessage, accept or refuse with a reason.
 *
 * <pre>
 *   lookup(user) ──► stored md5 hash, or a dummy one when there is nothing usable
 *                         │
 *   salt, response ──► "md5"+md5hex(stored[3:]+salt) == response ?   (always computed, constant time)
 *                         │
 *   then, in PostgreSQL's order: no usable password ► malformed ► wrong password ► expired ► NOLOGIN
 * </pre>
 *
 * Every path computes one salted hash and one constant-time comparison, so that response timing
 * does not tell an unknown role from a wrong password. Pure apart from {@link #newSalt}.
 */
public final class ClientAuthenticator {
    /** SQLSTATE invalid_password, what PostgreSQL sends for every failed password login. */
    public static final String FAILURE_SQLSTATE = "28P01";

    /**
     * Compared against when the role has no usable md5 hash. It is a well-formed hash, so the
     * work is the same; no response can match it in practice, and a match is refused anyway.
     */
    private static final String DUMMY_STORED = "md5" + "0".repeat(32);

    private static final Credential NO_CREDENTIAL = new Credential("", Optional.empty(), false, Optional.empty());

    private final SecureRandom random;

    public ClientAuthenticator(SecureRandom random) {
        this.random = Objects.requireNonNull(random);
    }

    public ClientAuthenticator() {
        this(new SecureRandom());
    }

    /** The client-visible message for every refusal, whatever its reason. */
    public static String failureMessage(String user) {
        return "password authentication failed for user \"" + user + "\"";
    }

    /** A fresh salt for one AuthenticationMD5Password request. */
    public byte[] newSalt() {
        byte[] salt = new byte[Md5.SALT_LENGTH];
        random.nextBytes(salt);
        return salt;
    }

    public AuthOutcome authenticate(String user, Optional<Credential> credential, byte[] salt, String response,
                                    Instant now) {
        Optional<String> storedMd5 = usableMd5(user, credential.orElse(NO_CREDENTIAL));
        String expected = Md5.saltedResponse(storedMd5.orElse(DUMMY_STORED), salt);
        boolean matches = Md5.verify(expected, response);
        boolean wellFormed = Md5.isMd5Hash(response);

        if (credential.isEmpty()) {
            return new Refused(user, Reason.UNKNOWN_USER);
        }
        Credential c = credential.get();
        if (storedMd5.isEmpty()) {
            boolean scram = c.storedPassword().map(p -> p.startsWith("SCRAM-SHA-256$")).orElse(false);
            return new Refused(user, scram ? Reason.SCRAM_PASSWORD : Reason.NULL_PASSWORD);
        }
        if (!wellFormed) {
            return new Refused(user, Reason.MALFORMED_RESPONSE);
        }
        if (!matches) {
            return new Refused(user, Reason.WRONG_PASSWORD);
        }
        // PostgreSQL checks VALID UNTIL with the password and rolcanlogin afterwards; the order
        // only shows in the log, the client sees the same message either way.
        if (c.validUntil().isPresent() && c.validUntil().get().isBefore(now)) {
            return new Refused(user, Reason.EXPIRED);
        }
        if (!c.canLogin()) {
            return new Refused(user, Reason.NOLOGIN);
        }
        return new Accepted(user, new Secret(storedMd5.get()));
    }

    /**
     * The md5 hash to check against: the stored one, or for a plaintext password (possible in a
     * userlist) its hash with the user name, as PgBouncer does. Empty for NULL, empty, SCRAM.
     */
    private static Optional<String> usableMd5(String user, Credential c) {
        Optional<String> stored = c.storedPassword().filter(p -> !p.isEmpty());
        // Hashed whatever the stored form, so a plaintext entry costs no more time than the rest.
        String plaintextHash = Md5.hash(stored.orElse(""), user);
        if (stored.isEmpty() || stored.get().startsWith("SCRAM-SHA-256$")) {
            return Optional.empty();
        }
        return Optional.of(Md5.isMd5Hash(stored.get()) ? stored.get() : plaintextHash);
    }
}
