package org.pwgate.auth;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads timestamptz values as PostgreSQL prints them with DateStyle ISO, e.g.
 * {@code 2024-06-30 07:04:56.789012+00}, {@code 1899-12-31 20:29:08-03:30:52} (historic offsets
 * have seconds), {@code 0044-03-15 12:00:00+00 BC}, {@code 294276-12-31 23:59:59+00},
 * {@code infinity} and {@code -infinity}. The service connection sets TimeZone UTC, but any
 * printed offset is honoured. A value without an offset (a custom auth_query returning
 * timestamp) is read as UTC.
 */
final class PgTimestamps {
    private PgTimestamps() {}

    private static final Pattern ISO = Pattern.compile(
            "(\\d{4,9})-(\\d{2})-(\\d{2})[ T](\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?"
                    + "(?:([+-])(\\d{2})(?::?(\\d{2}))?(?::?(\\d{2}))?)?( BC)?");

    /** {@link Instant#MAX} for infinity, {@link Instant#MIN} for -infinity. */
    static Instant parse(String text) {
        String t = text.strip();
        if (t.equals("infinity")) {
            return Instant.MAX;
        }
        if (t.equals("-infinity")) {
            return Instant.MIN;
        }
        Matcher m = ISO.matcher(t);
        if (!m.matches()) {
            throw new DateTimeException("not a timestamptz in DateStyle ISO: " + t);
        }
        int year = Integer.parseInt(m.group(1));
        if (m.group(12) != null) {
            year = 1 - year; // 1 BC is year 0 of the proleptic calendar
        }
        int nanos = 0;
        if (m.group(7) != null) {
            nanos = Integer.parseInt((m.group(7) + "00000000").substring(0, 9));
        }
        LocalDateTime local = LocalDateTime.of(year, Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)), Integer.parseInt(m.group(6)), nanos);
        ZoneOffset offset = ZoneOffset.UTC;
        if (m.group(8) != null) {
            int sign = m.group(8).equals("-") ? -1 : 1;
            int h = Integer.parseInt(m.group(9));
            int min = m.group(10) == null ? 0 : Integer.parseInt(m.group(10));
            int sec = m.group(11) == null ? 0 : Integer.parseInt(m.group(11));
            offset = ZoneOffset.ofHoursMinutesSeconds(sign * h, sign * min, sign * sec);
        }
        return local.toInstant(offset);
    }
}
