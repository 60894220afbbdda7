package org.pwgate.proxy.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.pwgate.auth.Md5;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.TestConfigs;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.backend.BackendLoginException;
import org.pwgate.proxy.backend.BackendSession;
import org.pwgate.proxy.backend.ServiceConnection;
import org.pwgate.proxy.backend.ServiceQueryException;

/** The service connection and the embedded bootstrap against one real PostgreSQL, in order. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServiceConnectionAndBootstrapTest {
    static final String ADMIN_MD5 = Md5.hash(TestConfigs.ADMIN_PASSWORD, TestConfigs.ADMIN);
    static EmbeddedBackend backend;
    static EventLoopGroup group;
    static BackendConnector connector;
    static ServiceConnection admin;

    @BeforeAll
    static void start() throws Exception {
        backend = EmbeddedBackend.start("17", Optional.empty(), Map.of());
        Transport transport = Transport.detect();
        group = transport.newGroup(1, "test");
        connector = new BackendConnector(transport, new InetSocketAddress(backend.host(), backend.port()), Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() {
        if (admin != null) {
            admin.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        backend.close();
    }

    @Test
    @Order(1)
    void takeOverMakesTheAuthUserTheOid10SuperuserAndIsIdempotent() throws Exception {
        EmbeddedBootstrap boot = new EmbeddedBootstrap(connector, group.next(), Duration.ofSeconds(20));
        boot.takeOver(TestConfigs.ADMIN, ADMIN_MD5);
        boot.takeOver(TestConfigs.ADMIN, ADMIN_MD5);
        admin = new ServiceConnection(connector, group.next(), TestConfigs.ADMIN, "postgres", Optional.of(ADMIN_MD5));
        assertEquals(List.of(List.of(Optional.of("rdsadmin"), Optional.of("t"))),
                rows("SELECT rolname, rolsuper FROM pg_catalog.pg_roles WHERE oid = 10"));
        assertEquals(List.of(List.of(Optional.of(ADMIN_MD5))), rows("SELECT rolpassword FROM pg_catalog.pg_authid WHERE oid = 10"));
        assertEquals(List.of(), rows("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname LIKE 'pwgate_bootstrap%'"));
    }

    @Test
    @Order(2)
    void roleBootstrapCreatesTheAuroraLayoutIdempotently() throws Exception {
        PwgateConfig config = TestConfigs.embedded(10, Duration.ofSeconds(5));
        RoleBootstrap roles = new RoleBootstrap(admin, Duration.ofSeconds(20));
        roles.run(config.gateRole(), config.bootstrap());
        roles.run(config.gateRole(), config.bootstrap());
        assertEquals(List.of(List.of(Optional.of("f"), Optional.of("t"), Optional.of("t"), Optional.of("t"), Optional.of("infinity"),
                        Optional.of(Md5.hash(TestConfigs.MASTER_PASSWORD, TestConfigs.MASTER)))),
                rows("SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolvaliduntil::text, rolpassword"
                        + " FROM pg_catalog.pg_authid WHERE rolname = 'postgres'"));
        assertEquals(List.of(List.of(Optional.of("t"), Optional.of("t"))),
                rows("SELECT pg_has_role('postgres', 'rds_superuser', 'MEMBER'), pg_has_role('postgres', 'rds_password', 'MEMBER')"));
        assertEquals(List.of(List.of(Optional.of("f"))), rows("SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = 'rds_password'"));
        String adminOption = "SELECT CASE WHEN m.admin_option THEN 't' ELSE 'f' END FROM pg_catalog.pg_auth_members m"
                + " JOIN pg_catalog.pg_roles r ON r.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member"
                + " WHERE r.rolname = 'rds_password' AND u.rolname = 'rds_superuser'";
        assertEquals(List.of(List.of(Optional.of("t"))), rows(adminOption));
        // A membership made before the bootstrap gave the option gets it on the next run.
        rows("REVOKE ADMIN OPTION FOR rds_password FROM rds_superuser");
        assertEquals(List.of(List.of(Optional.of("f"))), rows(adminOption));
        roles.run(config.gateRole(), config.bootstrap());
        assertEquals(List.of(List.of(Optional.of("t"))), rows(adminOption));
        assertEquals(List.of(List.of(Optional.of(Md5.hash(TestConfigs.APP_PASSWORD, TestConfigs.APP))), List.of(Optional.of("1"))),
                rows("SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = 'app' UNION ALL"
                        + " SELECT count(*)::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid"
                        + " WHERE r.rolname = 'rds_superuser'"));
    }

    @Test
    @Order(3)
    void afterRequireMd5OnlyPassTheHashGetsIn() throws Exception {
        new EmbeddedBootstrap(connector, group.next(), Duration.ofSeconds(20)).requireMd5(backend, admin);
        Future<BackendSession> noHash = connector.connect(group.next(), "app", "postgres", Map.of(), Optional.empty()).await();
        BackendLoginException e = assertInstanceOf(BackendLoginException.class, noHash.cause());
        assertTrue(e.getMessage().contains("md5"), e.getMessage());
        Future<BackendSession> withHash = connector.connect(group.next(), "app", "postgres", Map.of(),
                Optional.of(Md5.hash(TestConfigs.APP_PASSWORD, TestConfigs.APP))).await();
        assertTrue(withHash.isSuccess(), String.valueOf(withHash.cause()));
        assertTrue(withHash.getNow().key().isPresent());
        withHash.getNow().close();
        Future<BackendSession> wrong = connector.connect(group.next(), "app", "postgres", Map.of(),
                Optional.of(Md5.hash("wrong", TestConfigs.APP))).await();
        assertEquals("28P01", ((BackendLoginException) wrong.cause()).forClient().sqlState());
    }

    @Test
    @Order(4)
    void parametersTravelAsTextAndNullsAsEmpty() throws Exception {
        assertEquals(List.of(List.of(Optional.of("ab"), Optional.empty())), rows("SELECT $1::text || $2::text, NULL", "a", "b"));
    }

    @Test
    @Order(5)
    void serverErrorsCarryTheirSqlstate() {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> admin.query("SELECT 1/0", List.of()).toCompletableFuture().get(10, TimeUnit.SECONDS));
        assertEquals("22012", ((ServiceQueryException) e.getCause()).sqlState());
    }

    @Test
    @Order(6)
    void theServerLogKeepsWhatPostgresLogsAfterStartUp() throws Exception {
        String marker = "pwgate_log_marker_" + System.nanoTime();
        assertThrows(ExecutionException.class,
                () -> admin.query("SELECT " + marker + "()", List.of()).toCompletableFuture().get(10, TimeUnit.SECONDS));
        Path logs = backend.dataDirectory().orElseThrow().resolve("log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean found = false;
        while (!found && System.nanoTime() < deadline) {
            if (Files.isDirectory(logs)) {
                try (Stream<Path> files = Files.list(logs)) {
                    for (Path f : files.toList()) {
                        found |= Files.readString(f).contains("function " + marker + "() does not exist");
                    }
                }
            }
            if (!found) {
                Thread.sleep(100);
            }
        }
        assertTrue(found, "PostgreSQL's error for the query is in " + logs);
    }

    @Test
    @Order(7)
    void reconnectsAfterTheBackendEndsItsSession() throws Exception {
        String pid = rows("SELECT pg_backend_pid()::text").get(0).get(0).orElseThrow();
        try (ServiceConnection other = new ServiceConnection(connector, group.next(), TestConfigs.ADMIN, "postgres", Optional.of(ADMIN_MD5))) {
            other.query("SELECT pg_terminate_backend(" + Integer.parseInt(pid) + ")", List.of()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        // The termination may or may not have been noticed yet: at most one query is lost.
        try {
            rows("SELECT 1");
        } catch (ExecutionException lost) {
            assertInstanceOf(ServiceQueryException.class, lost.getCause());
        }
        String newPid = rows("SELECT pg_backend_pid()::text").get(0).get(0).orElseThrow();
        assertTrue(!newPid.equals(pid), "a new backend session");
    }

    private static List<List<Optional<String>>> rows(String sql, String... params) throws Exception {
        return admin.query(sql, List.of(params)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
