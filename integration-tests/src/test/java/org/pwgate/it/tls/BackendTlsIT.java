package org.pwgate.it.tls;

import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.tls.TestPki;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.Cancels;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TcpRelay;
import org.pwgate.proxy.ProxyServer;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * pwgate to PostgreSQL over TLS: an embedded PostgreSQL with ssl = on whose pg_hba.conf refuses
 * unencrypted TCP connections, and pwgate in front of it with {@code backend.tls: verify-full}.
 */
class BackendTlsIT {
    static Path dir;
    static TestPki pki;
    static EmbeddedBackend backend;

    @BeforeAll
    static void start() throws Exception {
        dir = TempDirs.create("pwgate-backend-tls-it");
        pki = TestPki.create(dir.resolve("ca"), "backend CA");
        TestPki.Issued server = pki.server("postgres-server");
        // PostgreSQL refuses a key file readable by group or others (owned by root: at most 0640).
        Files.setPosixFilePermissions(server.key(), PosixFilePermissions.fromString("rw-------"));
        backend = EmbeddedBackend.start("17", Optional.empty(), Map.of(
                "ssl", "on", "ssl_cert_file", server.cert().toString(), "ssl_key_file", server.key().toString()));
        try (Connection c = direct("require"); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE " + PwgateHarness.APP + " LOGIN PASSWORD '" + PwgateHarness.APP_PASSWORD + "'");
        }
        backend.writeHba("""
                local     all all                trust
                hostssl   all all 127.0.0.1/32   trust
                hostnossl all all 127.0.0.1/32   reject
                """);
        try (Connection c = direct("require"); Statement s = c.createStatement()) {
            s.execute("SELECT pg_reload_conf()");
        }
        Thread.sleep(500);
        Files.writeString(dir.resolve("userlist.txt"), "\"" + PwgateHarness.APP + "\" \""
                + PwgateHarness.md5(PwgateHarness.APP_PASSWORD, PwgateHarness.APP) + "\"\n");
    }

    @AfterAll
    static void stop() {
        if (backend != null) {
            backend.close();
        }
    }

    static Connection direct(String sslmode) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", EmbeddedBackend.BOOTSTRAP_SUPERUSER);
        p.setProperty("sslmode", sslmode);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + backend.port() + "/postgres", p);
    }

    static ProxyServer pwgate(String backendTls) throws Exception {
        return pwgate(backend.port(), backendTls);
    }

    static ProxyServer pwgate(int backendPort, String backendTls) throws Exception {
        Path file = dir.resolve("pwgate-" + backendPort + "-" + Math.abs(backendTls.hashCode()) + ".yaml");
        Files.writeString(file, """
                listen: { host: 127.0.0.1, port: 0 }
                backend: { host: 127.0.0.1, port: %d, %s }
                auth: { source: auth_file, auth_file: "%s" }
                """.formatted(backendPort, backendTls, dir.resolve("userlist.txt")));
        return ProxyServer.start(ConfigLoader.load(file));
    }

    static Connection through(ProxyServer pwgate) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", PwgateHarness.APP);
        p.setProperty("password", PwgateHarness.APP_PASSWORD);
        p.setProperty("sslmode", "disable");
        p.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pwgate.localAddress().getPort() + "/postgres", p);
    }

    @Test
    void theBackendRefusesUnencryptedConnections() {
        // Without this, the test below could pass over plaintext.
        assertThrows(SQLException.class, () -> direct("disable").close());
    }

    @Test
    void verifyFullSessionsRunOverTls() throws Exception {
        try (ProxyServer pwgate = pwgate("tls: verify-full, tls_ca: \"" + pki.caCert() + "\"");
             Connection c = through(pwgate);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            assertTrue(rs.next());
            assertTrue(rs.getBoolean(1));
            assertTrue(rs.getString(2).startsWith("TLSv1."), rs.getString(2));
        }
    }

    @Test
    void verifyFullRefusesABackendCertificateFromAnotherCa() throws Exception {
        TestPki other = TestPki.create(dir.resolve("other"), "some other CA");
        try (ProxyServer pwgate = pwgate("tls: verify-full, tls_ca: \"" + other.caCert() + "\"")) {
            SQLException e = assertThrows(SQLException.class, () -> through(pwgate).close());
            assertTrue(e.getSQLState() != null && e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
        }
    }

    @Test
    void withBackendTlsDisabledTheBackendsHbaRefusesTheSession() throws Exception {
        try (ProxyServer pwgate = pwgate("tls: disable")) {
            // The same pwgate with verify-full gets in (above): the refusal is the missing encryption.
            assertThrows(SQLException.class, () -> through(pwgate).close());
        }
    }

    private static final int SSL_REQUEST_CODE = 80877103;

    @Test
    void aCancelRequestTravelsOverTlsToo() throws Exception {
        // PostgreSQL takes a CancelRequest before it consults pg_hba.conf, so the hostnossl reject
        // above would not refuse a plaintext one: the relay shows what went on the wire.
        try (TcpRelay relay = new TcpRelay(0, () -> new InetSocketAddress("127.0.0.1", backend.port()), 0);
             ProxyServer pwgate = pwgate(relay.port(), "tls: verify-full, tls_ca: \"" + pki.caCert() + "\"");
             Connection c = through(pwgate);
             Statement s = c.createStatement()) {
            Cancels.assertStatementCancelStopsASleep(s);
            // The session's connection, then the cancel's: each opened with an SSLRequest.
            assertEquals(List.of(SSL_REQUEST_CODE, SSL_REQUEST_CODE), relay.openings());
        }
    }
}
