package org.pwgate.it.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.ProxyServer;

/**
 * A real pwgate in front of a real (embedded) PostgreSQL, for end-to-end tests. One instance per
 * test class: starting the backend costs a few seconds.
 *
 * <p>Roles after bootstrap: {@value #ADMIN} (superuser, pwgate's auth user), {@value #MASTER}
 * (the Aurora-like master user, member of rds_superuser) and {@value #APP} (plain LOGIN). Their
 * passwords are the constants below; tests create further roles through {@link #admin()}.
 */
public final class PwgateHarness implements AutoCloseable {
    public static final String ADMIN = "rdsadmin";
    public static final String ADMIN_PASSWORD = "rdsadmin-test";
    public static final String MASTER = "postgres";
    public static final String MASTER_PASSWORD = "postgres-test";
    public static final String APP = "app";
    public static final String APP_PASSWORD = "app-test";

    private final ProxyServer server;
    private final Path dir;

    private PwgateHarness(ProxyServer server, Path dir) {
        this.server = server;
        this.dir = dir;
    }

    /** Starts pwgate on an embedded PostgreSQL 17 with the restriction set as given. */
    public static PwgateHarness start(boolean restrictPasswordCommands) throws Exception {
        return start(restrictPasswordCommands, "");
    }

    /**
     * Starts pwgate; {@code extraYaml} holds further top-level sections (they must not repeat the
     * ones written here).
     */
    public static PwgateHarness start(boolean restrictPasswordCommands, String extraYaml) throws Exception {
        return startYaml(baseYaml(restrictPasswordCommands) + extraYaml);
    }

    /** Starts pwgate with exactly this configuration (usually {@link #baseYaml} with edits). */
    public static PwgateHarness startYaml(String yaml) throws Exception {
        Path dir = TempDirs.create("pwgate-it");
        Path file = dir.resolve("pwgate.yaml");
        Files.writeString(file, yaml);
        PwgateConfig config = ConfigLoader.load(file);
        return new PwgateHarness(ProxyServer.start(config), dir);
    }

    /** The YAML the harness runs with, for tests that start pwgate some other way (the jar). */
    public static String baseYaml(boolean restrictPasswordCommands) {
        return """
                listen: { host: 127.0.0.1, port: 0 }
                backend: { embedded: { version: "17" } }
                auth:
                  source: auth_query
                  auth_user: %s
                  auth_password: "%s"
                limits: { max_client_connections: 400, auth_timeout: 5s, max_message_size: 256MiB }
                parameters: { rds.restrict_password_commands: %d }
                bootstrap:
                  master_user: %s
                  master_password: "%s"
                  users:
                    - { name: %s, password: "%s", attributes: "LOGIN" }
                """.formatted(ADMIN, md5(ADMIN_PASSWORD, ADMIN), restrictPasswordCommands ? 1 : 0,
                MASTER, md5(MASTER_PASSWORD, MASTER), APP, md5(APP_PASSWORD, APP));
    }

    public ProxyServer server() {
        return server;
    }

    public int port() {
        return server.localAddress().getPort();
    }

    public InetSocketAddress backend() {
        return (InetSocketAddress) server.backendAddress();
    }

    /** A JDBC URL through pwgate; {@code params} is appended as the query string (may be empty). */
    public String url(String database, String params) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database + (params.isEmpty() ? "" : "?" + params);
    }

    public Connection connect(String user, String password) throws SQLException {
        return connect(user, password, "");
    }

    public Connection connect(String user, String password, String params) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "120");
        return DriverManager.getConnection(url("postgres", params), p);
    }

    /** A superuser connection straight to the backend, bypassing pwgate: the tests' source of truth. */
    public Connection admin() throws SQLException {
        return adminTo("postgres");
    }

    /** The same, to another database. */
    public Connection adminTo(String database) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", ADMIN);
        p.setProperty("password", ADMIN_PASSWORD);
        return DriverManager.getConnection(
                "jdbc:postgresql://" + backend().getHostString() + ":" + backend().getPort() + "/" + database, p);
    }

    /** Runs SQL as the backend superuser, directly. */
    public void adminExecute(String... sql) throws SQLException {
        try (Connection c = admin(); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    /** psql through pwgate. */
    public Psql psql(String user, String password) {
        return new Psql("127.0.0.1", port(), user, password, "postgres");
    }

    public Path dir() {
        return dir;
    }

    /** PostgreSQL's md5 password hash: "md5" + md5hex(password + user). */
    public static String md5(String password, String user) {
        try {
            MessageDigest md = MessageDigest.getInstance("MD5");
            return "md5" + HexFormat.of().formatHex(md.digest((password + user).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }

    /** Config written for a test run, when a test needs the file (e.g. for the jar). */
    public Optional<Path> configFile() {
        Path f = dir.resolve("pwgate.yaml");
        return Files.exists(f) ? Optional.of(f) : Optional.empty();
    }
}
