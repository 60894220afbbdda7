package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;

/**
 * Texts that a client-only encoding (SJIS) lets PostgreSQL read differently from a reading in
 * another encoding: a statement hidden in a comment for one reading runs in the other. The user is
 * {@code app}, which PostgreSQL lets change its own password: only the gate can refuse it. Both
 * texts changed app's password through pwgate before the fixes they test (found in an adversarial
 * review).
 */
class ClientEncodingIT {
    private static PwgateHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = PwgateHarness.start(true);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void aTextPipelinedBehindAStatementThatSwitchesToSjisWithoutNamingItIsReadAsSjisToo() throws Exception {
        String before = appPassword();
        try (RawPg c = RawPg.connect(h.port())) {
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
            // Read as UTF8: one SELECT, the ALTER in a comment. Read as SJIS: [e3 81][81 5c] eat the
            // backslash, the string ends, and the ALTER runs.
            byte[] hiding = concat(ascii("SELECT E'"), new byte[] {(byte) 0xe3, (byte) 0x81, (byte) 0x81},
                    ascii("\\' AS \"x' /* \" ; ALTER USER app PASSWORD 'pwned-by-sjis'; -- */"));
            c.send(RawPg.concat(RawPg.query("UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_enc' || 'oding'"),
                    RawPg.tagged('Q', concat(hiding, new byte[] {0}))));
            List<RawPg.Msg> first = c.readUntil(m -> m.tag() == 'Z', 10_000);
            List<RawPg.Msg> second = c.readUntil(m -> m.tag() == 'Z', 10_000);
            assertTrue(first.stream().noneMatch(RawPg.Msg::isError), first.toString());
            assertEquals(List.of("42501"), second.stream().filter(RawPg.Msg::isError).map(RawPg.Msg::sqlState).toList(),
                    second.toString());
        }
        assertEquals(before, appPassword(), "app's password changed");
    }

    @Test
    void aBodyMadeOfEscapesIsReadAsTheServerHoldsIt() throws Exception {
        String before = appPassword();
        try (RawPg c = RawPg.connect(h.port())) {
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of("client_encoding", "SJIS"));
            c.send(RawPg.query("SET backslash_quote = on"));
            c.readUntil(m -> m.tag() == 'Z', 10_000);
            // All ASCII. The body holds the UTF-8 bytes e3 81 81 and a backslash, which escape the
            // quote for PL/pgSQL; read as SJIS, [81 5c] is one character and the ALTER a comment.
            c.send(RawPg.query("DO E'BEGIN PERFORM E''\\xe3\\x81\\x81\\\\'' /* ''; "
                    + "ALTER /* z */ USER app PASSWORD ''pwned-by-escape''; END -- */'"));
            List<RawPg.Msg> answer = c.readUntil(m -> m.tag() == 'Z', 10_000);
            assertEquals(List.of("42501"), answer.stream().filter(RawPg.Msg::isError).map(RawPg.Msg::sqlState).toList(),
                    answer.toString());
        }
        assertEquals(before, appPassword(), "app's password changed");
    }

    private static String appPassword() throws SQLException {
        try (Connection c = h.admin(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
