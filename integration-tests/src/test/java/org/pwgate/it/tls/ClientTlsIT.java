package org.pwgate.it.tls;

import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.tls.TestPki;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.Psql;
import org.pwgate.it.support.PwgateHarness;

/**
 * Client-side TLS through the real pwgate, {@code tls.mode: require}: pgjdbc with verify-full,
 * psql with require, PostgreSQL 17 direct TLS (raw client: the installed psql is 15), refusal of
 * plaintext clients, and certificate reload under an open session.
 */
class ClientTlsIT {
    static Path dir;
    static TestPki pki;
    static Path cert;
    static Path key;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        dir = TempDirs.create("pwgate-tls-it");
        pki = TestPki.create(dir.resolve("ca"), "pwgate IT CA");
        TestPki.Issued server = pki.server("server");
        // The files pwgate watches; the reload test replaces them.
        cert = dir.resolve("server.crt");
        key = dir.resolve("server.key");
        Files.copy(server.cert(), cert);
        Files.copy(server.key(), key);
        pwgate = PwgateHarness.startYaml(PwgateHarness.baseYaml(false)
                + "tls: { mode: require, cert: \"" + cert + "\", key: \"" + key + "\" }\n");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    String verifyFull() {
        return "sslmode=verify-full&sslrootcert=" + pki.caCert();
    }

    @Test
    void pgjdbcWithSslmodeVerifyFullConnectsThroughPwgate() throws Exception {
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, verifyFull());
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_user")) {
            rs.next();
            assertEquals(PwgateHarness.APP, rs.getString(1));
        }
    }

    @Test
    void pgjdbcVerifyFullRefusesAServerItDoesNotTrust() throws Exception {
        TestPki stranger = TestPki.create(dir.resolve("stranger"), "not pwgate's CA");
        SQLException e = assertThrows(SQLException.class, () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD,
                "sslmode=verify-full&sslrootcert=" + stranger.caCert()).close());
        assertTrue(String.valueOf(e.getMessage()).toLowerCase().contains("ssl"), e.getMessage());
    }

    @Test
    void psqlWithSslmodeRequireConnects() throws Exception {
        Psql.Result r = pwgate.psql(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)
                .run(null, Map.of("PGSSLMODE", "require"), "-c", "SELECT 'tls ok'");
        assertEquals(0, r.exitCode(), r.all());
        assertEquals("tls ok", r.stdout().strip());
    }

    @Test
    void psqlWithSslmodeVerifyFullConnects() throws Exception {
        Psql.Result r = pwgate.psql(PwgateHarness.APP, PwgateHarness.APP_PASSWORD)
                .run(null, Map.of("PGSSLMODE", "verify-full", "PGSSLROOTCERT", pki.caCert().toString()), "-c", "SELECT 1");
        assertEquals(0, r.exitCode(), r.all());
    }

    @Test
    void plaintextPgjdbcClientIsRefusedWith28000() {
        SQLException e = assertThrows(SQLException.class,
                () -> pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "sslmode=disable").close());
        assertEquals("28000", e.getSQLState(), e.getMessage());
        assertTrue(e.getMessage().contains("TLS is required"), e.getMessage());
    }

    @Test
    void plaintextPsqlIsRefusedBeforeAnyPassword() throws Exception {
        // No password given at all: a refusal that names TLS proves it came before the challenge.
        Psql.Result r = new Psql("127.0.0.1", pwgate.port(), PwgateHarness.APP, "", "postgres")
                .run(null, Map.of("PGSSLMODE", "disable", "PGPASSWORD", ""), "-w", "-c", "SELECT 1");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.stderr().contains("TLS is required"), r.stderr());
    }

    @Test
    void directTlsWithAlpnPostgresqlLogsIn() throws Exception {
        SSLContext ctx = RawPgClient.trusting(pki.caCert());
        try (RawPgClient c = RawPgClient.directTls(pwgate.port(), ctx, "postgresql")) {
            assertEquals("postgresql", c.applicationProtocol());
            Map<String, String> params = c.login(PwgateHarness.APP, "postgres", PwgateHarness.APP_PASSWORD);
            assertTrue(params.containsKey("server_version"), params.toString());
        }
    }

    @Test
    void aCancelRequestSentOverTlsCancelsTheQuery() throws Exception {
        // libpq 17 sends its cancel over TLS when the session used TLS, after an SSLRequest or
        // with direct TLS. pgjdbc and the installed psql send it in plaintext, which tls.mode
        // does not refuse (as in PostgreSQL); RelayIT covers that path.
        SSLContext ctx = RawPgClient.trusting(pki.caCert());
        for (boolean direct : new boolean[] {false, true}) {
            try (RawPgClient session = RawPgClient.viaSslRequest(pwgate.port(), ctx)) {
                session.login(PwgateHarness.APP, "postgres", PwgateHarness.APP_PASSWORD);
                CompletableFuture<String> error = CompletableFuture.supplyAsync(() -> {
                    try {
                        return session.queryError("SELECT pg_sleep(30)");
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
                Thread.sleep(500);
                long t0 = System.nanoTime();
                try (RawPgClient canceller = direct ? RawPgClient.directTls(pwgate.port(), ctx, "postgresql")
                        : RawPgClient.viaSslRequest(pwgate.port(), ctx)) {
                    canceller.cancel(session.processId, session.secretKey);
                }
                assertEquals("57014", error.get(5, TimeUnit.SECONDS), "direct TLS: " + direct);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 2000, "cancel took " + ms + " ms");
                assertNull(session.queryError("SELECT 1"), "the session stays usable");
            }
        }
    }

    @Test
    void directTlsWithoutAlpnIsClosed() throws Exception {
        SSLContext ctx = RawPgClient.trusting(pki.caCert());
        try (RawPgClient c = RawPgClient.directTls(pwgate.port(), ctx, null)) {
            assertThrows(java.io.IOException.class, () -> c.login(PwgateHarness.APP, "postgres", PwgateHarness.APP_PASSWORD));
        }
    }

    @Test
    void certificateReloadKeepsTheOpenSessionAndNewSessionsSeeTheNewCertificate() throws Exception {
        SSLContext ctx = RawPgClient.trusting(pki.caCert());
        X509Certificate before;
        try (RawPgClient probe = RawPgClient.viaSslRequest(pwgate.port(), ctx)) {
            before = probe.serverCertificate();
        }
        try (Connection open = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, verifyFull())) {
            TestPki.Issued next = pki.server("server-next");
            // Written next to the live files and moved over them, as a deploy tool would.
            Files.copy(next.key(), dir.resolve("server.key.new"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(next.cert(), dir.resolve("server.crt.new"), StandardCopyOption.REPLACE_EXISTING);
            Files.move(dir.resolve("server.key.new"), key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Files.move(dir.resolve("server.crt.new"), cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

            X509Certificate after = before;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (after.equals(before) && System.nanoTime() < deadline) {
                Thread.sleep(250);
                try (RawPgClient probe = RawPgClient.viaSslRequest(pwgate.port(), ctx)) {
                    after = probe.serverCertificate();
                }
            }
            assertNotEquals(before.getSerialNumber(), after.getSerialNumber(), "pwgate did not pick up the new certificate within 30 s");

            try (Statement s = open.createStatement(); ResultSet rs = s.executeQuery("SELECT 'still open'")) {
                rs.next();
                assertEquals("still open", rs.getString(1));
            }
            try (Connection fresh = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, verifyFull())) {
                assertTrue(fresh.isValid(5));
            }
        }
    }
}
