package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TcpRelay;
import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.ProxyServer;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * /readyz follows the backend: pwgate runs in front of "an existing PostgreSQL" (an embedded one
 * this test starts itself, reached through a TCP relay the test can cut and restore on the same
 * port), with an auth_file, so readiness depends on the backend alone.
 *
 * <p>Why a relay and not a PostgreSQL restart: EmbeddedBackend always starts on a port it picks
 * (zonky passes {@code -p} with its own port and waits on it, so a {@code port} server setting
 * makes the start time out), and the relay refuses connections exactly as a stopped server does.
 */
class ReadinessIT {
    static final String USER = "postgres";
    static final String PASSWORD = "readiness-test";

    static EmbeddedBackend postgres;
    static TcpRelay relay;
    static ProxyServer pwgate;
    static int adminPort;

    @BeforeAll
    static void start() throws Exception {
        postgres = EmbeddedBackend.start("17", Optional.empty(), Map.of());
        relay = new TcpRelay(0, () -> new InetSocketAddress(postgres.host(), postgres.port()), 0);
        adminPort = Ops.freePort();
        Path dir = TempDirs.create("pwgate-readiness");
        Files.writeString(dir.resolve("userlist.txt"),
                "\"" + USER + "\" \"" + PwgateHarness.md5(PASSWORD, USER) + "\"\n");
        Path file = dir.resolve("pwgate.yaml");
        Files.writeString(file, """
                listen: { host: 127.0.0.1, port: 0 }
                backend: { host: 127.0.0.1, port: %d, connect_timeout: 2s }
                auth: { source: auth_file, auth_file: userlist.txt }
                parameters: { rds.restrict_password_commands: 0 }
                """.formatted(relay.port()) + Ops.adminYaml(adminPort));
        pwgate = ProxyServer.start(ConfigLoader.load(file));
    }

    @AfterAll
    static void stop() {
        if (pwgate != null) {
            pwgate.close();
        }
        if (relay != null) {
            relay.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    static int selectOne() throws Exception {
        Properties p = new Properties();
        p.setProperty("user", USER);
        p.setProperty("password", PASSWORD);
        p.setProperty("connectTimeout", "10");
        try (Connection c = DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:" + pwgate.localAddress().getPort() + "/postgres", p);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void readyzIsFalseWhileTheBackendIsDownAndTrueAgainAfter() throws Exception {
        assertEquals(new Ops.Http(200, "ready\n"), Ops.get(adminPort, "/readyz"));
        assertEquals(1, selectOne());

        relay.unbind();
        Ops.await("/readyz 503", Duration.ofSeconds(10), () -> Ops.get(adminPort, "/readyz").status() == 503);
        Ops.Http down = Ops.get(adminPort, "/readyz");
        assertTrue(down.body().startsWith("backend 127.0.0.1:" + relay.port() + " unreachable"), down.body());
        assertTrue(!down.body().contains(PASSWORD) && !down.body().contains("md5"), down.body());
        assertEquals(200, Ops.get(adminPort, "/livez").status(), "alive though not ready: no restart wanted");

        relay.rebind();
        Ops.await("/readyz 200", Duration.ofSeconds(10), () -> Ops.get(adminPort, "/readyz").status() == 200);
        assertEquals(1, selectOne());
    }
}
