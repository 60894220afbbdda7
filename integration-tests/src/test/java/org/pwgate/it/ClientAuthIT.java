package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;

/**
 * Client authentication through pwgate: MD5 against the credentials in the database, and one
 * identical refusal, whatever the reason.
 */
class ClientAuthIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(false);
        pwgate.adminExecute(
                "SET password_encryption = 'md5'",
                "DROP ROLE IF EXISTS auth_nologin, auth_expired, auth_nullpw, auth_scram, auth_future",
                "CREATE ROLE auth_nologin NOLOGIN PASSWORD 'secret-1'",
                "CREATE ROLE auth_expired LOGIN PASSWORD 'secret-2' VALID UNTIL '2001-01-01'",
                "CREATE ROLE auth_nullpw LOGIN",
                "SET password_encryption = 'scram-sha-256'",
                "CREATE ROLE auth_scram LOGIN PASSWORD 'secret-3'",
                "SET password_encryption = 'md5'",
                "CREATE ROLE auth_future LOGIN PASSWORD 'secret-4' VALID UNTIL 'infinity'");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    private static SQLException refused(String user, String password) {
        return assertThrows(SQLException.class, () -> pwgate.connect(user, password).close());
    }

    private static void assertStandardRefusal(String user, String password) {
        SQLException e = refused(user, password);
        assertEquals("28P01", e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains("password authentication failed for user \"" + user + "\""), e.getMessage());
    }

    @Test
    void rightPasswordLogsIn() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user, session_user")) {
            rs.next();
            assertEquals("app", rs.getString(1));
            assertEquals("app", rs.getString(2));
        }
        try (Connection c = pwgate.connect("auth_future", "secret-4")) {
            assertTrue(c.isValid(2));
        }
    }

    @Test
    void wrongPasswordIsRefused() {
        assertStandardRefusal(PwgateHarness.APP, "not-the-password");
    }

    @Test
    void unknownUserIsRefusedLikeAWrongPassword() {
        assertStandardRefusal("no_such_user", "whatever");
    }

    @Test
    void nologinRoleIsRefusedLikeAWrongPassword() {
        assertStandardRefusal("auth_nologin", "secret-1");
    }

    @Test
    void expiredValidUntilIsRefusedLikeAWrongPassword() {
        assertStandardRefusal("auth_expired", "secret-2");
    }

    @Test
    void roleWithoutPasswordIsRefusedLikeAWrongPassword() {
        assertStandardRefusal("auth_nullpw", "");
        assertStandardRefusal("auth_nullpw", "anything");
    }

    @Test
    void scramStoredPasswordIsRefusedLikeAWrongPassword() {
        assertStandardRefusal("auth_scram", "secret-3");
    }

    @Test
    void allRefusalsReadTheSameToTheClient() {
        String a = refused(PwgateHarness.APP, "bad").getMessage().replace("\"app\"", "\"U\"");
        String b = refused("no_such_user", "bad").getMessage().replace("\"no_such_user\"", "\"U\"");
        String c = refused("auth_expired", "secret-2").getMessage().replace("\"auth_expired\"", "\"U\"");
        assertEquals(a, b);
        assertEquals(a, c);
    }

    @Test
    void aPasswordChangedInTheDatabaseIsUsedAtOnce() throws Exception {
        pwgate.adminExecute("DROP ROLE IF EXISTS auth_changer", "CREATE ROLE auth_changer LOGIN PASSWORD 'first'");
        try (Connection c = pwgate.connect("auth_changer", "first")) {
            assertTrue(c.isValid(2));
        }
        pwgate.adminExecute("ALTER ROLE auth_changer PASSWORD 'second'");
        assertStandardRefusal("auth_changer", "first");
        try (Connection c = pwgate.connect("auth_changer", "second")) {
            assertTrue(c.isValid(2));
        }
    }
}
