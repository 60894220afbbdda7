package org.pwgate.config;

/**
 * A password or password hash from the configuration. {@link #toString()} never shows it, so a
 * Secret can sit in a record that gets logged.
 */
public final class Secret {
    private final String value;

    public Secret(String value) {
        this.value = java.util.Objects.requireNonNull(value);
    }

    /** The secret itself: use it, never log it. */
    public String reveal() {
        return value;
    }

    /** True when the value is a PostgreSQL md5 hash: "md5" followed by 32 lowercase hex digits. */
    public boolean isMd5Hash() {
        return value.length() == 35 && value.startsWith("md5")
                && value.substring(3).chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Secret s && java.security.MessageDigest.isEqual(
                value.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                s.value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return "***";
    }
}
