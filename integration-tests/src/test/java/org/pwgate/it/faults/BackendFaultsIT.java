package org.pwgate.it.faults;

import org.pwgate.it.support.RawPg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.RawPg.Msg;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.StreamedRow;
import org.pwgate.it.support.TcpRelay;
import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.ProxyServer;

/**
 * Real faults on the backend side of a session, no mocks: pg_terminate_backend on an idle
 * session and during COPY FROM STDIN, a backend that accepts TCP connections but does not answer,
 * a client that vanishes in the middle of a huge result. (A backend terminated during a query is
 * RelayIT's.)
 */
class BackendFaultsIT {
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        NettyLeaks.install();
        pwgate = PwgateHarness.start(false);
        pwgate.adminExecute("DROP TABLE IF EXISTS faults_copy", "CREATE TABLE faults_copy (a int, b text)",
                "GRANT ALL ON faults_copy TO app");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
        NettyLeaks.assertNoLeaks();
    }

    private static void terminate(String applicationName) throws SQLException {
        pwgate.adminExecute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"
                + applicationName + "'");
    }

    @Test
    void anIdleSessionWhoseBackendIsTerminatedGetsTheFatalErrorAndACloseWithinTwoSeconds() throws Exception {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            List<Msg> login = c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of("application_name", "idle_victim"));
            assertEquals('Z', login.get(login.size() - 1).tag());
            long t0 = System.nanoTime();
            terminate("idle_victim");
            List<Msg> got = c.readToEnd(2000);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertFalse(got.isEmpty(), "closed without an ErrorResponse");
            Msg last = got.get(got.size() - 1);
            assertEquals("57P01", last.sqlState(), "got " + got);
            assertEquals("FATAL", last.field('S'));
            assertTrue(ms < 2000, "took " + ms + " ms");
        }
        Faults.awaitBackendCount(pwgate, "application_name = 'idle_victim'", 0, 2000);
    }

    /** COPY FROM STDIN through CopyManager, fed slowly; the backend is terminated in the middle. */
    @Test
    void aBackendTerminatedMidCopyGivesTheCopyAnErrorWithinTwoSeconds() throws Exception {
        long[] terminatedAt = new long[1];
        Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "ApplicationName=copy_victim");
        try {
            Reader slowRows = new Reader() {
                private int row;
                private final StringBuilder pending = new StringBuilder();

                @Override
                public int read(char[] buf, int off, int len) throws IOException {
                    if (pending.length() == 0) {
                        if (row >= 400) {
                            return -1; // 20 s at most
                        }
                        try {
                            Thread.sleep(50);
                        } catch (InterruptedException e) {
                            throw new IOException(e);
                        }
                        // Rows of 4 KB: pgjdbc buffers COPY data 8 KB at a time, so it writes every other row.
                        pending.append(row).append('\t').append("r".repeat(4096)).append(row++).append('\n');
                    }
                    int n = Math.min(len, pending.length());
                    pending.getChars(0, n, buf, off);
                    pending.delete(0, n);
                    return n;
                }

                @Override
                public void close() {}
            };
            CompletableFuture<Void> killer = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(800);
                    terminatedAt[0] = System.nanoTime();
                    terminate("copy_victim");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            SQLException e = assertThrows(SQLException.class,
                    () -> c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY faults_copy FROM STDIN", slowRows, 16));
            long ms = (System.nanoTime() - terminatedAt[0]) / 1_000_000;
            killer.get(5, TimeUnit.SECONDS);
            assertTrue(ms < 2000, "the COPY failed " + ms + " ms after the backend was terminated");
            assertTrue(e.getSQLState() == null || e.getSQLState().startsWith("57") || e.getSQLState().startsWith("08"),
                    e.getSQLState() + " " + e.getMessage());
        } finally {
            try {
                c.close();
            } catch (SQLException brokenAlready) {
                // the connection died with its backend: that is the point
            }
        }
        Faults.awaitBackendCount(pwgate, "application_name = 'copy_victim'", 0, 2000);
    }

    @Test
    void aBackendTerminatedInTheMiddleOfAStreamedRowEndsTheClientsConnectionWithNothingAfterTheRowsBytes()
            throws Exception {
        // The client has the first part of a 200 MB row when the backend dies. An ErrorResponse
        // written then would be read as more of the row, so pwgate closes the connection instead.
        try (RawPg c = RawPg.connect(pwgate.port()); Connection admin = pwgate.admin()) {
            StreamedRow.startAndBlock(c, admin, "faults_mid_row");
            terminate("faults_mid_row");
            StreamedRow.assertCutByTheCloseAlone(c);
        }
    }

    /**
     * A client that asks for a huge result, reads a little and resets the connection: its backend
     * session must be gone within 2 s, even though the backend is blocked writing to pwgate.
     */
    @Test
    void aClientThatVanishesMidResultLeavesNoBackendSession() throws Exception {
        for (boolean rst : new boolean[] {true, false}) {
            RawPg c = RawPg.connect(pwgate.port());
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of("application_name", "vanisher"));
            c.send(RawPg.query("SELECT repeat('x', 1000) FROM generate_series(1, 5000000)"));
            for (int i = 0; i < 50; i++) {
                c.read(5000); // a little of the result, then gone
            }
            Thread.sleep(300); // let pwgate's buffers fill up and the backend block on its writes
            if (rst) {
                c.reset();
            } else {
                c.close();
            }
            long ms = Faults.awaitBackendCount(pwgate, "application_name = 'vanisher'", 0, 2000);
            System.out.println("vanishing client (" + (rst ? "RST" : "FIN") + "): backend session gone after " + ms + " ms");
        }
    }

    /**
     * A backend that accepts the TCP connection but never answers the startup: with
     * backend.connect_timeout 1s, the client must get a connection error within about 2 s, not
     * wait for auth_timeout (10 s here).
     */
    @Test
    void aBackendThatAcceptsButNeverAnswersGivesAConnectTimeoutError() throws Exception {
        checkSlowBackend(-1);
    }

    /** The same when the backend starts answering only after 5 s. */
    @Test
    void aBackendThatAnswersAfterFiveSecondsGivesAConnectTimeoutError() throws Exception {
        checkSlowBackend(5000);
    }

    private static void checkSlowBackend(long relayDelayMs) throws Exception {
        InetSocketAddress real = pwgate.backend();
        Path dir = TempDirs.create("pwgate-slow-backend");
        Path userlist = dir.resolve("userlist.txt");
        Files.writeString(userlist, "\"app\" \"" + PwgateHarness.md5(PwgateHarness.APP_PASSWORD, PwgateHarness.APP) + "\"\n");
        try (TcpRelay slow = new TcpRelay(0, () -> real, relayDelayMs)) {
            Path file = dir.resolve("pwgate.yaml");
            Files.writeString(file, """
                    listen: { host: 127.0.0.1, port: 0 }
                    backend: { host: 127.0.0.1, port: %d, connect_timeout: 1s }
                    auth: { source: auth_file, auth_file: %s }
                    limits: { max_client_connections: 20, auth_timeout: 10s }
                    """.formatted(slow.port(), userlist));
            try (ProxyServer server = ProxyServer.start(ConfigLoader.load(file));
                 RawPg c = RawPg.connect(server.localAddress().getPort())) {
                long t0 = System.nanoTime();
                List<Msg> got;
                try {
                    c.startup(PwgateHarness.APP, Map.of());
                    Msg challenge = c.read(5000);
                    byte[] salt = new byte[4];
                    System.arraycopy(challenge.body(), 4, salt, 0, 4);
                    c.send(RawPg.password(RawPg.md5Response(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, salt)));
                    got = c.readUntil(m -> m.isError() || m.tag() == 'Z', 12_000);
                } finally {
                    slow.unbind();
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                Msg last = got.get(got.size() - 1);
                assertTrue(last.isError(), "after " + ms + " ms the session started (" + got + ") instead of failing at"
                        + " backend.connect_timeout (1 s)");
                assertTrue(ms < 2500, "the client got " + last + " after " + ms + " ms; backend.connect_timeout is 1 s");
                assertTrue(last.sqlState().startsWith("08"), "expected a connection error (08xxx), got " + last);
            }
        }
    }
}
