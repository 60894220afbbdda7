package org.pwgate.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The value syntaxes of pwgate's YAML that YAML itself does not know: durations, byte sizes and
 * PostgreSQL's boolean spellings. Pure functions; empty means "not in this syntax".
 */
public final class Units {
    private Units() {}

    /**
     * A duration always carries its unit ({@code 500ms}, {@code 15s}, {@code 2m}, {@code 1h},
     * {@code 1d}). A bare number is refused on purpose: "timeout: 30" is read as seconds by some
     * tools and as milliseconds by others (PostgreSQL itself), and a DBA should not have to guess.
     */
    static final String DURATION_FORM = "a number with a unit: 500ms, 15s, 2m, 1h or 1d";

    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})\\s*(ms|s|m|h|d)");

    static Optional<Duration> duration(String text) {
        Matcher m = DURATION.matcher(text.strip());
        if (!m.matches()) {
            return Optional.empty();
        }
        long n = Long.parseLong(m.group(1));
        return Optional.of(switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        });
    }

    /**
     * Sizes follow postgresql.conf, the syntax DBAs know: {@code kB}, {@code MB}, {@code GB} are
     * powers of 1024 there, so they are here too, and {@code KiB}, {@code MiB}, {@code GiB} say
     * the same thing explicitly. A bare number (or {@code B}) is bytes.
     */
    static final String SIZE_FORM = "bytes as an integer, or a number with a unit: B, kB/KiB, MB/MiB, GB/GiB (powers of 1024)";

    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})\\s*(B|kB|KiB|MB|MiB|GB|GiB)?");
    private static final Map<String, Long> SIZE_UNITS = Map.of(
            "B", 1L, "kB", 1024L, "KiB", 1024L, "MB", 1024L * 1024, "MiB", 1024L * 1024,
            "GB", 1024L * 1024 * 1024, "GiB", 1024L * 1024 * 1024);

    static OptionalLong size(String text) {
        Matcher m = SIZE.matcher(text.strip());
        if (!m.matches()) {
            return OptionalLong.empty();
        }
        long n = Long.parseLong(m.group(1));
        long unit = m.group(2) == null ? 1L : SIZE_UNITS.get(m.group(2));
        try {
            return OptionalLong.of(Math.multiplyExact(n, unit));
        } catch (ArithmeticException tooBig) {
            return OptionalLong.empty();
        }
    }

    static final String BOOLEAN_FORM = "a boolean: 1/0, on/off, true/false, yes/no, t/f or y/n";

    /**
     * The spellings PostgreSQL's parse_bool accepts in full (case-insensitive, surrounding blanks
     * ignored). Its unique-prefix forms ("tr", "of") are not accepted: a config file should say
     * what it means.
     */
    static Optional<Boolean> postgresBoolean(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "1", "on", "true", "yes", "t", "y" -> Optional.of(true);
            case "0", "off", "false", "no", "f", "n" -> Optional.of(false);
            default -> Optional.empty();
        };
    }

    /** The shortest exact spelling in the syntax {@link #duration} reads, for messages and logs. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0 || ms % 1000 != 0) {
            return ms + "ms";
        }
        long s = ms / 1000;
        if (s % 86_400 == 0) {
            return s / 86_400 + "d";
        }
        if (s % 3600 == 0) {
            return s / 3600 + "h";
        }
        return s % 60 == 0 ? s / 60 + "m" : s + "s";
    }
}
