package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GuardSqlTest {

    @Test
    void defaultGuardIsTheDesignedStatementWithAQualifiedOperator() {
        assertEquals("DO $pwgate$BEGIN IF NOT coalesce((SELECT pg_catalog.pg_has_role(CURRENT_USER, oid, 'MEMBER')"
                + " FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) 'rds_password'), false) THEN"
                + " RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'must be a member of rds_password to alter"
                + " passwords'; END IF; END$pwgate$", GuardSql.membership("rds_password"));
    }

    @Test
    void namesThatCouldBreakQuotingAreHexEncoded() {
        for (String role : List.of("o'hare", "x$pwgate$; DROP ROLE y; --", "back\\slash", "rôle")) {
            String sql = GuardSql.membership(role);
            assertFalse(sql.contains(role), sql);
            assertEquals(2, sql.split("\\$pwgate\\$", -1).length - 1, "only the body's own delimiters: " + sql);
            assertTrue(sql.chars().allMatch(c -> c < 0x80), "ASCII only, whatever the client encoding");
            assertTrue(sql.contains("pg_catalog.convert_from(pg_catalog.decode('"), sql);
        }
    }

    @Test
    void restrictedStatementsAreSplitWhereTheServerSplitsThem() {
        try (GateDriver d = new GateDriver(true)) {
            d.client(d.query("SELECT ';' AS \"a;b\"; /* ; */ ALTER ROLE bob PASSWORD 'p;q'; SELECT $$;$$"));
            assertEquals(List.of("Q SELECT ';' AS \"a;b\"; /* ; */ " + PasswordCommandGateTest.GUARD
                    + "; ALTER ROLE bob PASSWORD 'p;q'; SELECT $$;$$"), d.sentToBackend());
            d.backend(d.rowDescription(), d.dataRow(";"), d.commandComplete("SELECT 1"), d.commandComplete("DO"),
                    d.commandComplete("ALTER ROLE"), d.rowDescription(), d.dataRow(";"), d.commandComplete("SELECT 1"),
                    d.ready('I'));
            assertEquals(8, d.sentToClient().size(), "everything but the guarded DO");
        }
    }

    @Test
    void embeddedStatementsAreGuardedToo() {
        try (GateDriver d = new GateDriver(true)) {
            d.client(d.query("DO $$BEGIN EXECUTE 'ALTER ROLE bob PASSWORD ''x'''; END$$"));
            assertEquals(List.of("Q " + PasswordCommandGateTest.GUARD + "; DO $$BEGIN EXECUTE 'ALTER ROLE bob PASSWORD ''x'''; END$$"),
                    d.sentToBackend());
            d.backend(d.error("42501", PasswordCommandGateTest.REFUSAL), d.ready('I'));
            assertEquals(List.of(PasswordCommandGateTest.STRIPPED_REFUSAL, "ReadyForQuery I"), d.sentToClient());
        }
    }
}
