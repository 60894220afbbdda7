package org.pwgate.proxy.startup;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import org.pwgate.auth.Credential;

/**
 * PostgreSQL's MD5 password scheme, both sides: the stored form {@code "md5" + md5hex(password + user)}
 * and the salted challenge response {@code "md5" + md5hex(stored[3:] + salt)}. Every decision
 * about a client's password goes through {@link #verify}, the one call to move to the auth
 * module's classes once they land.
 */
public final class Md5Password {
    private Md5Password() {}

    /** Why a login was refused; the client never learns which (always 28P01), the log does. */
    public enum Outcome {
        OK,
        UNKNOWN_USER,
        NOLOGIN,
        NULL_PASSWORD,
        NOT_MD5,
        EXPIRED,
        WRONG_PASSWORD
    }

    /** The stored form of a plaintext password for {@code user}. */
    public static String hash(String password, String user) {
        return "md5" + md5hex(concat(password.getBytes(StandardCharsets.UTF_8), user.getBytes(StandardCharsets.UTF_8)));
    }

    /** The answer to an MD5 challenge, computed from the stored form (pass-the-hash). */
    public static String saltedResponse(String storedMd5, byte[] salt) {
        byte[] inner = storedMd5.substring(3).getBytes(StandardCharsets.US_ASCII);
        return "md5" + md5hex(concat(inner, salt));
    }

    public static boolean isMd5Hash(String s) {
        return s.length() == 35 && s.startsWith("md5")
                && s.substring(3).chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    /**
     * Checks a client's PasswordMessage against what the credential source knows. The response is
     * always compared, even when the outcome is already a refusal, so that timing tells nothing.
     */
    public static Outcome verify(Optional<Credential> credential, byte[] salt, String clientResponse, Instant now) {
        String stored = credential.flatMap(Credential::storedPassword).filter(Md5Password::isMd5Hash)
                .orElse("md500000000000000000000000000000000");
        boolean matches = MessageDigest.isEqual(
                saltedResponse(stored, salt).getBytes(StandardCharsets.US_ASCII),
                clientResponse.getBytes(StandardCharsets.UTF_8));
        if (credential.isEmpty()) {
            return Outcome.UNKNOWN_USER;
        }
        Credential c = credential.get();
        if (!c.canLogin()) {
            return Outcome.NOLOGIN;
        }
        if (c.storedPassword().isEmpty() || c.storedPassword().get().isEmpty()) {
            return Outcome.NULL_PASSWORD;
        }
        if (!isMd5Hash(c.storedPassword().get())) {
            return Outcome.NOT_MD5;
        }
        if (!matches) {
            return Outcome.WRONG_PASSWORD;
        }
        if (c.validUntil().isPresent() && !c.validUntil().get().isAfter(now)) {
            return Outcome.EXPIRED;
        }
        return Outcome.OK;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static String md5hex(byte[] input) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(input));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is missing from this JVM", e);
        }
    }
}
