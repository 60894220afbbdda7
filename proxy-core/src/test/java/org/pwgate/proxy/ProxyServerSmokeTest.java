package org.pwgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One pwgate on an embedded PostgreSQL, driven by pgjdbc: the path every other module builds on. */
class ProxyServerSmokeTest {
    static ProxyServer server;

    @BeforeAll
    static void start() throws Exception {
        server = ProxyServer.start(TestConfigs.embedded(50, Duration.ofSeconds(5)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void selectOneThroughPwgate() throws Exception {
        try (Connection c = connect(TestConfigs.APP, TestConfigs.APP_PASSWORD, "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1, current_user, current_setting('password_encryption')")) {
            assertTrue(rs.next());
            assertEquals(1, rs.getInt(1));
            assertEquals("app", rs.getString(2));
            assertEquals("md5", rs.getString(3));
        }
    }

    @Test
    void extendedProtocolWithServerPreparedStatements() throws Exception {
        try (Connection c = connect(TestConfigs.MASTER, TestConfigs.MASTER_PASSWORD, "?prepareThreshold=1");
             var ps = c.prepareStatement("SELECT ?::int + 1")) {
            for (int i = 0; i < 5; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    assertEquals(i + 1, rs.getInt(1));
                }
            }
        }
    }

    @Test
    void wrongPasswordIs28P01() {
        SQLException e = assertThrows(SQLException.class, () -> connect(TestConfigs.APP, "wrong", "").close());
        assertEquals("28P01", e.getSQLState());
        SQLException unknown = assertThrows(SQLException.class, () -> connect("nobody", "x", "").close());
        assertEquals("28P01", unknown.getSQLState());
    }

    @Test
    void cancelReachesTheRunningQuery() throws Exception {
        try (Connection c = connect(TestConfigs.APP, TestConfigs.APP_PASSWORD, ""); Statement s = c.createStatement()) {
            Thread canceller = new Thread(() -> {
                try {
                    Thread.sleep(300);
                    s.cancel();
                } catch (Exception ignored) {
                    // the assertion below reports a missing cancel
                }
            });
            long t0 = System.nanoTime();
            canceller.start();
            SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT pg_sleep(30)"));
            canceller.join();
            assertEquals("57014", e.getSQLState());
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
            try (ResultSet rs = s.executeQuery("SELECT 2")) {
                assertTrue(rs.next());
            }
        }
    }

    static Connection connect(String user, String password, String query) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "30");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + server.localAddress().getPort() + "/postgres" + query, p);
    }
}
