package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TempDirs;

/** The real psql client through pwgate: connect, \copy, \password. */
class PsqlIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(false);
        pwgate.adminExecute("DROP TABLE IF EXISTS psql_t", "CREATE TABLE psql_t (id int, v text)",
                "GRANT ALL ON psql_t TO app",
                "DROP ROLE IF EXISTS psql_pw", "CREATE ROLE psql_pw LOGIN PASSWORD 'before-change'");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    @Test
    void psqlConnectsAndQueries() throws Exception {
        Psql.Result r = pwgate.psql(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)
                .command("SELECT current_user || ':' || current_setting('server_version_num')::int / 10000");
        assertEquals(0, r.exitCode(), r.all());
        assertEquals("app:17", r.stdout().strip());
    }

    @Test
    void psqlWithAWrongPasswordIsRefused() throws Exception {
        Psql.Result r = pwgate.psql(PwgateHarness.APP, "wrong").command("SELECT 1");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.stderr().contains("password authentication failed for user \"app\""), r.stderr());
    }

    @Test
    void backslashCopyRoundTrips() throws Exception {
        Path dir = TempDirs.create("psql-copy");
        Path in = dir.resolve("in.csv");
        Path out = dir.resolve("out.csv");
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < 500; i++) {
            csv.append(i).append(",\"line ").append(i).append(", with comma\"\n");
        }
        Files.writeString(in, csv.toString());
        Psql psql = pwgate.psql(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
        Psql.Result r = psql.script("TRUNCATE psql_t;\n"
                + "\\copy psql_t FROM '" + in + "' WITH (FORMAT csv)\n"
                + "\\copy (SELECT * FROM psql_t ORDER BY id) TO '" + out + "' WITH (FORMAT csv)\n"
                + "SELECT count(*) FROM psql_t;\n");
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.stdout().strip().endsWith("500"), r.stdout());
        assertEquals(csv.toString(), Files.readString(out));
    }

    @Test
    void backslashPasswordChangesThePasswordAndTheUserStillLogsIn() throws Exception {
        Psql.Result r = new Psql("127.0.0.1", pwgate.port(), "psql_pw", "before-change", "postgres")
                .run("\\password\nafter-change\nafter-change\n", Map.of());
        assertEquals(0, r.exitCode(), r.all());
        try (Connection c = pwgate.connect("psql_pw", "after-change")) {
            assertTrue(c.isValid(2));
        }
        Psql.Result old = new Psql("127.0.0.1", pwgate.port(), "psql_pw", "before-change", "postgres").command("SELECT 1");
        assertNotEquals(0, old.exitCode());
        // The new password was stored as an md5 hash, so pwgate can keep authenticating the user.
        try (Connection a = pwgate.admin(); var s = a.createStatement();
             var rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'psql_pw'")) {
            rs.next();
            assertTrue(rs.getString(1).startsWith("md5"));
        }
    }

    @Test
    void theMasterUserChangesAnotherBootstrapUsersPasswordWithBackslashPassword() throws Exception {
        Psql master = pwgate.psql(PwgateHarness.MASTER, PwgateHarness.MASTER_PASSWORD);
        try {
            Psql.Result r = master.run("\\password app\nchanged-by-master\nchanged-by-master\n", Map.of());
            assertEquals(0, r.exitCode(), r.all());
            try (Connection c = pwgate.connect(PwgateHarness.APP, "changed-by-master")) {
                assertTrue(c.isValid(2));
            }
        } finally {
            // Back to the harness password, for the other tests of this class.
            Psql.Result reset = master.command("ALTER ROLE app PASSWORD '" + PwgateHarness.md5(PwgateHarness.APP_PASSWORD, "app") + "'");
            assertEquals(0, reset.exitCode(), reset.all());
        }
    }
}
