package org.pwgate.it.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/**
 * Joining a role that is itself a member of the gate role makes a member of the gate role. On
 * PostgreSQL 15 and older a CREATEROLE role may grant itself any role that is not a superuser,
 * rds_superuser included, so there the gate must stop it: PostgreSQL would not. (From 16 on,
 * PostgreSQL asks for the ADMIN option, which only a member has.) Run against PostgreSQL 15.
 */
class IndirectMembershipIT {
    private static final String REFUSAL = PasswordGateIT.REFUSAL;
    private static final String CLIMBER = "climber";
    private static final String PASSWORD = "climber-pw";
    private static PwgateHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = PwgateHarness.startYaml(PwgateHarness.baseYaml(true).replace("version: \"17\"", "version: \"15\""));
        h.adminExecute(
                "CREATE ROLE " + CLIMBER + " LOGIN CREATEROLE PASSWORD '" + PwgateHarness.md5(PASSWORD, CLIMBER) + "'",
                "CREATE ROLE pw_managers NOLOGIN", "GRANT rds_password TO pw_managers",
                "CREATE ROLE readers NOLOGIN", "CREATE ROLE bystander NOLOGIN");
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void aNonMemberCannotJoinARoleThatIsAMemberOfTheGateRole() throws Exception {
        List<String> climbs = List.of(
                "GRANT rds_superuser TO " + CLIMBER,
                "GRANT pw_managers TO " + CLIMBER,
                "GRANT readers, pw_managers TO " + CLIMBER,
                "ALTER GROUP pw_managers ADD USER " + CLIMBER,
                "CREATE ROLE sneaky LOGIN IN ROLE rds_superuser",
                "CREATE ROLE sneaky2 IN ROLE pw_managers ROLE " + CLIMBER,
                "REVOKE rds_superuser FROM " + PwgateHarness.MASTER);
        for (String sql : List.of("", "preferQueryMode=simple")) {
            for (String climb : climbs) {
                try (Connection c = h.connect(CLIMBER, PASSWORD, sql); Statement s = c.createStatement()) {
                    PasswordGateIT.assertRefused(assertThrows(SQLException.class, () -> s.execute(climb), climb),
                            "42501", REFUSAL);
                }
            }
        }
        assertFalse(member(CLIMBER, "rds_password"), "climber became a member of rds_password");
        assertTrue(member(PwgateHarness.MASTER, "rds_superuser"));
        assertEquals(0, count("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'sneaky%'"));
    }

    @Test
    void otherRolesAreGrantedAndRevokedAsBeforeAndMembersGrantTheLinkedOnes() throws Exception {
        try (Connection c = h.connect(CLIMBER, PASSWORD, ""); Statement s = c.createStatement()) {
            s.execute("GRANT readers TO bystander");
            s.execute("REVOKE readers FROM bystander");
            s.execute("CREATE ROLE plain_new IN ROLE readers");
            s.execute("DROP ROLE plain_new");
        }
        try (Connection c = h.connect(PwgateHarness.MASTER, PwgateHarness.MASTER_PASSWORD, ""); Statement s = c.createStatement()) {
            s.execute("GRANT pw_managers TO bystander");
            assertTrue(member("bystander", "rds_password"));
            s.execute("REVOKE pw_managers FROM bystander");
        }
        assertFalse(member("bystander", "rds_password"));
    }

    private static boolean member(String role, String of) throws SQLException {
        try (Connection c = h.admin(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_has_role('" + role + "', '" + of + "', 'MEMBER')")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static long count(String sql) throws SQLException {
        try (Connection c = h.admin(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
