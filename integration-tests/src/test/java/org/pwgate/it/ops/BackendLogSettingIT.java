package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;
import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.ProxyServer;
import org.pwgate.proxy.embedded.EmbeddedBackend;
import org.slf4j.LoggerFactory;

/**
 * What pwgate checks on an external backend at start-up: a backend that logs the text of failed
 * statements (PostgreSQL's default, log_min_error_statement = error) would log the password of
 * every password statement the gate refuses, and one without the gate role has every password
 * command refused to everyone. pwgate warns of each, and says nothing when the backend is set up
 * as the README asks.
 */
class BackendLogSettingIT {
    private static final String USER = "logsetting_app";
    private static final String PASSWORD = "logsetting-secret";

    @Test
    void pwgateWarnsWhenTheBackendLogsFailedStatementsAndOnlyThen() throws Exception {
        List<String> defaults = warningsWith("error", false);
        assertEquals(2, defaults.size(), defaults.toString());
        assertTrue(defaults.get(0).contains("log_min_error_statement = error"), defaults.get(0));
        assertTrue(defaults.get(1).contains("the gate role \"rds_password\" does not exist"), defaults.get(1));
        List<String> setUp = warningsWith("panic", true);
        assertEquals(List.of(), setUp, "no warning for a backend set up as the README asks");
    }

    /**
     * Starts a backend with the setting, with or without the gate role, and pwgate in front of it;
     * pwgate's start-up warnings once a client has logged in.
     */
    private static List<String> warningsWith(String level, boolean gateRole) throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(ProxyServer.class);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        logger.addAppender(logs);
        EmbeddedBackend pg = EmbeddedBackend.start("17", Optional.empty(), Map.of("log_min_error_statement", level));
        try {
            Properties p = new Properties();
            p.setProperty("user", "postgres");
            try (Connection su = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + pg.port() + "/postgres", p);
                 Statement s = su.createStatement()) {
                s.execute("SET password_encryption = 'md5'");
                s.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PwgateHarness.md5(PASSWORD, USER) + "'");
                if (gateRole) {
                    s.execute("CREATE ROLE rds_password NOLOGIN");
                }
            }
            Path file = TempDirs.create("pwgate-logsetting").resolve("pwgate.yaml");
            Files.writeString(file, """
                    listen: { host: 127.0.0.1, port: 0 }
                    backend: { host: 127.0.0.1, port: %d }
                    auth: { source: auth_query, auth_user: postgres }
                    parameters: { rds.restrict_password_commands: 1 }
                    """.formatted(pg.port()));
            try (ProxyServer server = ProxyServer.start(ConfigLoader.load(file));
                 RawPg client = RawPg.connect(server.localAddress().getPort())) {
                // The login's credential lookup goes over the same service connection, after the check.
                List<RawPg.Msg> login = client.login(USER, PASSWORD, Map.of());
                assertEquals('Z', login.get(login.size() - 1).tag());
            }
        } finally {
            logger.detachAppender(logs);
            pg.close();
        }
        return logs.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
    }
}
