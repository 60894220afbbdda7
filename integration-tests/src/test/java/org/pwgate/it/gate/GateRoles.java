package org.pwgate.it.gate;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.pwgate.it.support.PwgateHarness;

/**
 * The roles the gate tests use, created straight on the backend. Every test login has CREATEROLE
 * and ADMIN on {@code victim}, so PostgreSQL itself would let each of them change victim's
 * password: a refusal can only come from the gate.
 */
final class GateRoles {
    static final String PASSWORD = "gate-test-pw";
    static final String MEMBER = "pw_member";
    static final String NON_MEMBER = "pw_nonmember";
    static final String INHERITED = "pw_inherited";
    static final String SUPERUSER = "pw_super";
    static final String VICTIM = "victim";
    static final String GROUP = "pw_admins";

    private GateRoles() {}

    static void create(PwgateHarness h) throws SQLException {
        h.adminExecute(
                "CREATE ROLE " + GROUP + " NOLOGIN CREATEROLE",
                "GRANT rds_password TO " + GROUP,
                login(MEMBER, "CREATEROLE"), "GRANT rds_password TO " + MEMBER,
                login(NON_MEMBER, "CREATEROLE"),
                login(INHERITED, "CREATEROLE"), "GRANT " + GROUP + " TO " + INHERITED,
                login(SUPERUSER, "SUPERUSER"),
                login(VICTIM, ""),
                "GRANT " + VICTIM + " TO " + MEMBER + ", " + NON_MEMBER + ", " + INHERITED + ", " + GROUP + ", "
                        + PwgateHarness.MASTER + " WITH ADMIN OPTION");
    }

    private static String login(String user, String attributes) {
        return "CREATE ROLE " + user + " LOGIN " + attributes + " PASSWORD '" + PwgateHarness.md5(PASSWORD, user) + "'";
    }

    static String password(String user) {
        return user.equals(PwgateHarness.MASTER) ? PwgateHarness.MASTER_PASSWORD : PASSWORD;
    }

    /** Puts victim back as it was and removes what a test created. */
    static void reset(Connection admin) throws SQLException {
        try (Statement s = admin.createStatement()) {
            s.execute("DROP ROLE IF EXISTS myrole, mygroup");
            s.execute("DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'victim2') THEN "
                    + "ALTER ROLE victim2 RENAME TO victim; END IF; END$$");
            s.execute("ALTER ROLE victim PASSWORD '" + PwgateHarness.md5(PASSWORD, VICTIM)
                    + "' VALID UNTIL 'infinity' CONNECTION LIMIT -1");
        }
    }

    /** pg_authid and pg_auth_members as text: what a refusal must leave unchanged. */
    static String snapshot(Connection admin) throws SQLException {
        StringBuilder sb = new StringBuilder();
        try (Statement s = admin.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT rolname, rolpassword, rolvaliduntil, rolconnlimit, rolsuper, "
                    + "rolcreaterole, rolcanlogin FROM pg_authid ORDER BY oid")) {
                while (rs.next()) {
                    for (int i = 1; i <= 7; i++) {
                        sb.append(rs.getString(i)).append('|');
                    }
                    sb.append('\n');
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT roleid, member, grantor, admin_option FROM pg_auth_members "
                    + "ORDER BY roleid, member, grantor")) {
                while (rs.next()) {
                    sb.append(rs.getString(1)).append(',').append(rs.getString(2)).append(',')
                            .append(rs.getString(3)).append(',').append(rs.getString(4)).append('\n');
                }
            }
        }
        return sb.toString();
    }
}
