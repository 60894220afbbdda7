package org.pwgate.it.tls;

import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.tls.TestPki;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;

/**
 * {@code tls: { client_ca, verify: full }}: the client certificate must come from the CA and
 * carry the user name as its CN (PostgreSQL's clientcert=verify-full); the MD5 password is
 * still required on top.
 */
class ClientCertificateIT {
    static Path dir;
    static TestPki pki;
    static TestPki stranger;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        dir = TempDirs.create("pwgate-clientcert-it");
        pki = TestPki.create(dir.resolve("ca"), "pwgate IT CA");
        stranger = TestPki.create(dir.resolve("stranger"), "unknown CA");
        TestPki.Issued server = pki.server("server");
        pwgate = PwgateHarness.startYaml(PwgateHarness.baseYaml(false)
                + "tls: { mode: require, cert: \"" + server.cert() + "\", key: \"" + server.key()
                + "\", client_ca: \"" + pki.caCert() + "\", verify: full }\n");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    String params(TestPki issuer, TestPki.Issued client) throws Exception {
        return "sslmode=verify-full&sslrootcert=" + pki.caCert() + "&sslcert=" + client.cert()
                + "&sslkey=" + issuer.pkcs8Der(client);
    }

    @Test
    void certificateFromTheCaWithTheUserAsCnIsAccepted() throws Exception {
        TestPki.Issued app = pki.client("app-client", PwgateHarness.APP);
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, params(pki, app));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_user")) {
            rs.next();
            assertEquals(PwgateHarness.APP, rs.getString(1));
        }
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        TestPki.Issued forged = stranger.client("forged", PwgateHarness.APP);
        assertThrows(SQLException.class,
                () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, params(stranger, forged)).close());
    }

    @Test
    void noCertificateIsRefused() {
        // No sslcert: pgjdbc offers ~/.postgresql/postgresql.crt only if it exists, which it does not here.
        assertTrue(Files.notExists(Path.of(System.getProperty("user.home"), ".postgresql", "postgresql.crt")));
        assertThrows(SQLException.class, () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD,
                "sslmode=verify-full&sslrootcert=" + pki.caCert()).close());
    }

    @Test
    void certificateForAnotherUserIsRefused() throws Exception {
        TestPki.Issued master = pki.client("master-client", PwgateHarness.MASTER);
        SQLException e = assertThrows(SQLException.class,
                () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, params(pki, master)).close());
        assertTrue(e.getSQLState() != null && e.getSQLState().startsWith("28"), e.getSQLState() + " " + e.getMessage());
    }

    @Test
    void psqlWithTheRightCertificateConnectsAndWithAWrongOneDoesNot() throws Exception {
        TestPki.Issued app = pki.client("app-psql", PwgateHarness.APP);
        Psql psql = pwgate.psql(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
        Psql.Result ok = psql.run(null, Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", pki.caCert().toString(),
                "PGSSLCERT", app.cert().toString(), "PGSSLKEY", app.key().toString()), "-c", "SELECT 1");
        assertEquals(0, ok.exitCode(), ok.all());
        TestPki.Issued forged = stranger.client("forged-psql", PwgateHarness.APP);
        Psql.Result refused = psql.run(null, Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", pki.caCert().toString(),
                "PGSSLCERT", forged.cert().toString(), "PGSSLKEY", forged.key().toString()), "-c", "SELECT 1");
        assertNotEquals(0, refused.exitCode(), refused.all());
    }
}
