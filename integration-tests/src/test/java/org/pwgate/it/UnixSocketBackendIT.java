package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.ProxyServer;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * pwgate reaching PostgreSQL over its Unix-domain socket ({@code backend.host} a socket
 * directory, as in libpq). The backend's pg_hba.conf lets the application role in only through
 * the socket, so a session that works cannot have gone over TCP; pwgate's auth_query connection,
 * the sessions and cancel requests all take that path.
 */
class UnixSocketBackendIT {
    static Path dir;
    static Path sockets;
    static EmbeddedBackend backend;
    static ProxyServer pwgate;

    @BeforeAll
    static void start() throws Exception {
        dir = TempDirs.create("pwgate-unix-it");
        sockets = Files.createDirectories(dir.resolve("run"));
        backend = EmbeddedBackend.start("17", Optional.empty(), Map.of("unix_socket_directories", sockets.toString()));
        String superuser = EmbeddedBackend.BOOTSTRAP_SUPERUSER;
        String superuserMd5 = PwgateHarness.md5("super-secret", superuser);
        try (Connection c = overTcp(superuser); Statement s = c.createStatement()) {
            s.execute("ALTER ROLE " + superuser + " PASSWORD '" + superuserMd5 + "'");
            s.execute("CREATE ROLE " + PwgateHarness.APP + " LOGIN PASSWORD '"
                    + PwgateHarness.md5(PwgateHarness.APP_PASSWORD, PwgateHarness.APP) + "'");
            s.execute("CREATE ROLE rds_password NOLOGIN");
        }
        backend.writeHba("""
                local all all                     md5
                host  all %s 127.0.0.1/32  trust
                host  all all 127.0.0.1/32 reject
                """.formatted(superuser));
        try (Connection c = overTcp(superuser); Statement s = c.createStatement()) {
            s.execute("SELECT pg_reload_conf()");
        }
        Thread.sleep(500);
        pwgate = pwgate(backend.port(), """
                auth: { source: auth_query, auth_user: %s, auth_password: "%s" }
                parameters: { rds.restrict_password_commands: 1 }
                """.formatted(superuser, superuserMd5));
    }

    @AfterAll
    static void stop() {
        if (pwgate != null) {
            pwgate.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    static ProxyServer pwgate(int backendPort, String rest) throws Exception {
        Path file = Files.createTempFile(dir, "pwgate", ".yaml");
        Files.writeString(file, """
                listen: { host: 127.0.0.1, port: 0 }
                backend: { host: "%s", port: %d, connect_timeout: 3s }
                """.formatted(sockets, backendPort) + rest);
        return ProxyServer.start(ConfigLoader.load(file));
    }

    static Connection overTcp(String user) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", PwgateHarness.APP_PASSWORD);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + backend.port() + "/postgres", p);
    }

    static Connection through(ProxyServer server) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", PwgateHarness.APP);
        p.setProperty("password", PwgateHarness.APP_PASSWORD);
        p.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.localAddress().getPort() + "/postgres", p);
    }

    @Test
    void theApplicationRoleCannotReachTheBackendOverTcp() {
        // Without this, the sessions below could have gone over TCP.
        assertThrows(SQLException.class, () -> overTcp(PwgateHarness.APP).close());
    }

    @Test
    void sessionsRunOverTheSocket() throws Exception {
        try (Connection c = through(pwgate); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_user, client_addr IS NULL, client_port"
                     + " FROM pg_stat_activity WHERE pid = pg_backend_pid()")) {
            assertTrue(rs.next());
            assertEquals(PwgateHarness.APP, rs.getString(1));
            assertTrue(rs.getBoolean(2), "client_addr is NULL only for a Unix-domain socket");
            assertEquals(-1, rs.getInt(3), "client_port is -1 only for a Unix-domain socket");
        }
    }

    @Test
    void theGateStillRefusesPasswordChanges() throws Exception {
        try (Connection c = through(pwgate); Statement s = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> s.execute("ALTER ROLE app PASSWORD 'changed'"));
            assertEquals("42501", e.getSQLState());
            assertTrue(e.getMessage().contains("must be a member of rds_password to alter passwords"), e.getMessage());
            try (ResultSet rs = s.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void aCancelReachesTheBackendThroughTheSocket() throws Exception {
        try (Connection c = through(pwgate); Statement s = c.createStatement()) {
            CompletableFuture<SQLException> running = CompletableFuture.supplyAsync(() -> {
                try {
                    s.execute("SELECT pg_sleep(30)");
                    return null;
                } catch (SQLException e) {
                    return e;
                }
            });
            Thread.sleep(500);
            long t0 = System.nanoTime();
            s.cancel();
            SQLException e = running.get(10, TimeUnit.SECONDS);
            assertEquals("57014", e == null ? null : e.getSQLState());
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 2000, "the cancel took over 2 s");
        }
    }

    @Test
    void noServerOnTheSocketIsAClearConnectionError() throws Exception {
        Path userlist = dir.resolve("userlist.txt");
        Files.writeString(userlist, "\"" + PwgateHarness.APP + "\" \""
                + PwgateHarness.md5(PwgateHarness.APP_PASSWORD, PwgateHarness.APP) + "\"\n");
        try (ProxyServer nowhere = pwgate(backend.port() + 1, "auth: { source: auth_file, auth_file: \"" + userlist + "\" }\n")) {
            assertFalse(Files.exists(sockets.resolve(".s.PGSQL." + (backend.port() + 1))));
            SQLException e = assertThrows(SQLException.class, () -> through(nowhere).close());
            assertEquals("08006", e.getSQLState());
            assertTrue(e.getMessage().contains("could not connect to the backend"), e.getMessage());
        }
    }
}
