package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The left column is text PostgreSQL 17.6 printed for timestamptz::text (DateStyle ISO; TimeZone
 * UTC except where the offset shows otherwise: Asia/Kolkata, America/St_Johns in 1899).
 */
class PgTimestampsTest {
    @ParameterizedTest
    @CsvSource({
            "2024-01-01 00:00:00+00,2024-01-01T00:00:00Z",
            "2024-06-30 07:04:56.789012+00,2024-06-30T07:04:56.789012Z",
            "2000-01-01 07:59:59.5+00,2000-01-01T07:59:59.500Z",
            "2024-06-30 18:04:56.789012+05:30,2024-06-30T12:34:56.789012Z",
            "1899-12-31 20:29:08-03:30:52,1900-01-01T00:00:00Z",
            "294276-12-31 23:59:59+00,+294276-12-31T23:59:59Z",
            "2024-01-01T00:00:00+00,2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00,2024-01-01T00:00:00Z"})
    void readsWhatPostgresPrints(String text, String expected) {
        assertEquals(Instant.parse(expected), PgTimestamps.parse(text));
    }

    @Test
    void readsBcDates() {
        // 44 BC is year -43 in the proleptic ISO calendar.
        assertEquals(LocalDateTime.of(-43, 3, 15, 12, 0).toInstant(ZoneOffset.UTC), PgTimestamps.parse("0044-03-15 12:00:00+00 BC"));
    }

    @Test
    void infinities() {
        assertEquals(Instant.MAX, PgTimestamps.parse("infinity"));
        assertEquals(Instant.MIN, PgTimestamps.parse("-infinity"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Mon Jan 01 00:00:00 2024 UTC", "01/01/2024 00:00:00", "2024-13-01 00:00:00+00", "tomorrow"})
    void refusesOtherStyles(String text) {
        assertThrows(DateTimeException.class, () -> PgTimestamps.parse(text));
    }
}
