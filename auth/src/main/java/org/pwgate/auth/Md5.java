package org.pwgate.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * PostgreSQL's MD5 password math. A stored hash is {@code "md5" + md5hex(password + user)}; the
 * answer to an AuthenticationMD5Password challenge is {@code "md5" + md5hex(stored[3:] + salt)}.
 * Because the answer needs only the stored hash, pwgate can log in to the backend as the client
 * with the hash alone (pass-the-hash, as PgBouncer does).
 *
 * <p>Text is encoded as UTF-8: PostgreSQL hashes the bytes of the server encoding, so the hashes
 * agree with a UTF8 database (the default, and what pwgate's backends use).
 */
public final class Md5 {
    private Md5() {}

    public static final int SALT_LENGTH = 4;

    /** The value pg_authid.rolpassword holds for {@code password} with password_encryption = md5. */
    public static String hash(String password, String user) {
        return "md5" + hex(digest(utf8(password + user)));
    }

    /** The PasswordMessage a client sends for {@code salt}, computed from the stored hash. */
    public static String saltedResponse(String storedMd5, byte[] salt) {
        if (!isMd5Hash(storedMd5)) {
            throw new IllegalArgumentException("not an md5 password hash");
        }
        checkSalt(salt);
        byte[] inner = utf8(storedMd5.substring(3));
        byte[] salted = new byte[inner.length + salt.length];
        System.arraycopy(inner, 0, salted, 0, inner.length);
        System.arraycopy(salt, 0, salted, inner.length, salt.length);
        return "md5" + hex(digest(salted));
    }

    /** What libpq sends for {@code password}: the salted response over the hash of the password. */
    public static String clientResponse(String password, String user, byte[] salt) {
        return saltedResponse(hash(password, user), salt);
    }

    /** Constant-time comparison of two responses (or hashes); false when either is null. */
    public static boolean verify(String expected, String actual) {
        if (expected == null || actual == null) {
            return false;
        }
        return MessageDigest.isEqual(utf8(expected), utf8(actual));
    }

    /** "md5" followed by 32 lowercase hex digits, the only form PostgreSQL stores and sends. */
    public static boolean isMd5Hash(String s) {
        if (s == null || s.length() != 35 || !s.startsWith("md5")) {
            return false;
        }
        for (int i = 3; i < 35; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    private static void checkSalt(byte[] salt) {
        if (salt == null || salt.length != SALT_LENGTH) {
            throw new IllegalArgumentException("an MD5 salt is " + SALT_LENGTH + " bytes");
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] digest(byte[] input) {
        try {
            return MessageDigest.getInstance("MD5").digest(input);
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide MD5 (MessageDigest's documented requirement).
            throw new IllegalStateException(e);
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private static String hex(byte[] bytes) {
        char[] out = new char[bytes.length * 2];
        for (int i = 0; i < bytes.length; i++) {
            out[2 * i] = HEX[(bytes[i] >> 4) & 0xF];
            out[2 * i + 1] = HEX[bytes[i] & 0xF];
        }
        return new String(out);
    }
}
