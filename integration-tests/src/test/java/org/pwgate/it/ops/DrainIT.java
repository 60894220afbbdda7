package org.pwgate.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.postgresql.PGConnection;
import org.pwgate.it.support.TempDirs;

/**
 * The runnable jar as a process, as the container runs it: SIGTERM drains, SIGHUP reloads.
 *
 * <pre>
 *   SIGTERM at t0, drain_time 6s
 *     idle session            -> 57P01 at once
 *     pg_sleep(2) running     -> its result arrives, then 57P01
 *     pg_sleep(60) running    -> 57P01 at t0 + 6s
 *     new connections         -> refused from t0 on
 *     the process exits
 * </pre>
 */
class DrainIT {
    static final Path JAR = Path.of(System.getProperty("pwgate.jar", "../proxy-core/target/pwgate.jar"));
    static final Duration DRAIN = Duration.ofSeconds(6);
    static final String ADMIN_SHUTDOWN_MESSAGE = "terminating connection due to administrator command";

    Process process;
    File output;
    int port;
    int adminPort;
    Path file;

    void startJar() throws Exception {
        port = Ops.freePort();
        adminPort = Ops.freePort();
        String yaml = PwgateHarness.baseYaml(false);
        String listen = "listen: { host: 127.0.0.1, port: 0 }";
        String limits = "max_message_size: 256MiB }";
        assertTrue(yaml.contains(listen) && yaml.contains(limits));
        yaml = yaml.replace(listen, "listen: { host: 127.0.0.1, port: " + port + " }")
                .replace(limits, "max_message_size: 256MiB, drain_time: " + DRAIN.toSeconds() + "s }")
                + Ops.adminYaml(adminPort);
        Path dir = TempDirs.create("pwgate-drain");
        file = dir.resolve("pwgate.yaml");
        Files.writeString(file, yaml);
        output = dir.resolve("pwgate.log").toFile();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        process = new ProcessBuilder(java, "-jar", JAR.toString(), "--config", file.toString())
                .redirectErrorStream(true).redirectOutput(output).start();
        Ops.await("pwgate ready", Duration.ofSeconds(90), () -> {
            if (!process.isAlive()) {
                throw new AssertionError("pwgate exited " + process.exitValue() + ":\n" + log());
            }
            try {
                return Ops.get(adminPort, "/readyz").status() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    String log() throws IOException {
        return output == null ? "" : Files.readString(output.toPath());
    }

    @AfterEach
    void stop() throws Exception {
        // SIGTERM first: pwgate then stops its embedded PostgreSQL. A SIGKILL leaves that server
        // running after the test run, an orphan on the CI machine.
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(DRAIN.toSeconds() + 20, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    Connection connect() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", PwgateHarness.APP);
        p.setProperty("password", PwgateHarness.APP_PASSWORD);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "120");
        return java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", p);
    }

    static int sleepAndSelect(Connection c, int seconds) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 42 FROM pg_sleep(" + seconds + ")")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Waits for what the server sent an idle session, without sending anything: the FATAL, here. */
    static SQLException awaitServerEnd(Connection c) {
        return assertThrows(SQLException.class, () -> {
            for (int i = 0; i < 100; i++) {
                c.unwrap(PGConnection.class).getNotifications(100);
            }
        });
    }

    static void assertAdminShutdown(SQLException e) {
        assertTrue(Ops.sqlStates(e).contains("57P01"), Ops.sqlStates(e) + ": " + e);
    }

    @Test
    void sigtermDrainsRunningQueriesThenEndsEverySessionWith57P01() throws Exception {
        startJar();
        try (Connection idle = connect(); Connection shortQuery = connect(); Connection longQuery = connect()) {
            CompletableFuture<Integer> shortResult = CompletableFuture.supplyAsync(() -> {
                try {
                    return sleepAndSelect(shortQuery, 2);
                } catch (SQLException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            CompletableFuture<Long> longFailedAt = new CompletableFuture<>();
            Thread longRunner = new Thread(() -> {
                try {
                    sleepAndSelect(longQuery, 60);
                    longFailedAt.completeExceptionally(new AssertionError("pg_sleep(60) finished"));
                } catch (SQLException e) {
                    assertAdminShutdownInto(e, longFailedAt);
                }
            });
            longRunner.start();
            Thread.sleep(500); // both queries are running

            long t0 = System.nanoTime();
            process.destroy(); // SIGTERM

            SQLException idleEnd = awaitServerEnd(idle);
            assertAdminShutdown(idleEnd);
            assertTrue(idleEnd.getMessage().contains(ADMIN_SHUTDOWN_MESSAGE), idleEnd.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2), "the idle session is ended at once");

            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close(),
                    "no new connections once draining");

            assertEquals(42, shortResult.get(10, TimeUnit.SECONDS), "the running query finished");
            assertAdminShutdown(awaitServerEnd(shortQuery));

            long longEnded = longFailedAt.get(DRAIN.toSeconds() + 10, TimeUnit.SECONDS);
            long afterSigterm = longEnded - t0;
            assertTrue(afterSigterm >= DRAIN.toNanos() - TimeUnit.MILLISECONDS.toNanos(200),
                    "the long query ran until the drain time: " + TimeUnit.NANOSECONDS.toMillis(afterSigterm) + " ms");
            longRunner.join(5000);

            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "pwgate exits after the drain:\n" + log());
        } catch (AssertionError | Exception e) {
            throw new AssertionError(e.getMessage() + "\npwgate log:\n" + log(), e);
        }
    }

    static void assertAdminShutdownInto(SQLException e, CompletableFuture<Long> at) {
        long now = System.nanoTime();
        if (Ops.sqlStates(e).contains("57P01")) {
            at.complete(now);
        } else {
            at.completeExceptionally(new AssertionError("expected 57P01, got " + Ops.sqlStates(e) + ": " + e, e));
        }
    }

    @Test
    void sighupReloadsWithoutStoppingTheProcess() throws Exception {
        startJar();
        String unchanged = "pwgate_config_reloads_total{outcome=\"unchanged\"}";
        String applied = "pwgate_config_reloads_total{outcome=\"applied\"}";
        try (Connection app = connect()) {
            // The file is unchanged, so polling never reloads it: only the signal can.
            assertEquals(0, Ops.metric(adminPort, unchanged));
            hup();
            Ops.await("SIGHUP reload", Duration.ofSeconds(10), () -> Ops.metric(adminPort, unchanged) == 1);
            assertTrue(process.isAlive(), "SIGHUP must not stop the JVM:\n" + log());
            assertEquals(42, sleepAndSelect(app, 0), "the session is still there");

            Ops.rewrite(file, Files.readString(file).replace("rds.restrict_password_commands: 0",
                    "rds.restrict_password_commands: 1"));
            hup();
            Ops.await("applied", Duration.ofSeconds(10), () -> Ops.metric(adminPort, applied) >= 1);
            SQLException refused = assertThrows(SQLException.class,
                    () -> Ops.execute(app, "ALTER ROLE app PASSWORD '" + PwgateHarness.APP_PASSWORD + "'"));
            assertEquals("42501", refused.getSQLState());
        } catch (AssertionError | Exception e) {
            throw new AssertionError(e.getMessage() + "\npwgate log:\n" + log(), e);
        }
        assertFalse(log().contains(PwgateHarness.APP_PASSWORD), "no password in the log");
    }

    void hup() throws Exception {
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
    }
}
