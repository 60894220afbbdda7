package org.pwgate.it.faults;

import org.pwgate.it.support.RawPg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.pwgate.config.ConfigLoader;
import org.pwgate.it.support.RawPg.Msg;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.TcpRelay;
import org.pwgate.it.support.TempDirs;
import org.pwgate.proxy.ProxyServer;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * PostgreSQL stopped entirely (pg_ctl stop, fast mode: what an operator or a failover does) while
 * sessions are idle, mid-query and mid-authentication, then started again.
 *
 * <p>Setup: a separately started embedded PostgreSQL with its own data directory, pwgate in front
 * of it as an external backend with auth_query as the initdb superuser "postgres" (trust). The
 * embedded library picks a new port at each start (a fixed port given as a server setting is
 * not honoured: the library passes {@code -p <its port>} and checks readiness on that port), so a
 * TCP relay on a fixed port stands between them: it stops listening while PostgreSQL is down,
 * so pwgate's connects are refused exactly as they would be.
 */
class PostgresRestartIT {
    private static final String USER = "restart_app";
    private static final String PASSWORD = "restart-secret";

    @Test
    void sessionsGetAnErrorWithinTwoSecondsAndNewSessionsWorkOnceItIsBack() throws Exception {
        Path data = TempDirs.create("pwgate-restart").resolve("data");
        EmbeddedBackend[] pg = {EmbeddedBackend.start("17", Optional.of(data), Map.of())};
        try (TcpRelay relay = new TcpRelay(0, () -> new InetSocketAddress("127.0.0.1", pg[0].port()), 0)) {
            try (Connection su = Faults.direct("127.0.0.1", pg[0].port(), "postgres", null); Statement s = su.createStatement()) {
                s.execute("SET password_encryption = 'md5'");
                s.execute("CREATE ROLE " + USER + " LOGIN PASSWORD '" + PwgateHarness.md5(PASSWORD, USER) + "'");
            }
            Path file = data.getParent().resolve("pwgate.yaml");
            Files.writeString(file, """
                    listen: { host: 127.0.0.1, port: 0 }
                    backend: { host: 127.0.0.1, port: %d, connect_timeout: 1s }
                    auth: { source: auth_query, auth_user: postgres }
                    limits: { max_client_connections: 50, auth_timeout: 10s }
                    """.formatted(relay.port()));
            NettyLeaks.install();
            try (ProxyServer server = ProxyServer.start(ConfigLoader.load(file))) {
                int port = server.localAddress().getPort();
                RawPg idle = RawPg.connect(port);
                assertEquals('Z', last(idle.login(USER, PASSWORD, Map.of())).tag());
                RawPg busy = RawPg.connect(port);
                assertEquals('Z', last(busy.login(USER, PASSWORD, Map.of())).tag());
                busy.send(RawPg.query("SELECT pg_sleep(30)"));
                List<RawPg> authenticating = new ArrayList<>();
                List<byte[]> salts = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    RawPg c = RawPg.connect(port);
                    c.startup(USER, Map.of());
                    Msg challenge = c.read(5000);
                    byte[] salt = new byte[4];
                    System.arraycopy(challenge.body(), 4, salt, 0, 4);
                    authenticating.add(c);
                    salts.add(salt);
                }
                Thread.sleep(300);

                // Stop PostgreSQL; the relay stops listening with it.
                long t0 = System.nanoTime();
                pg[0].close();
                relay.unbind();
                long stoppedMs = (System.nanoTime() - t0) / 1_000_000;
                for (int i = 0; i < authenticating.size(); i++) {
                    authenticating.get(i).send(RawPg.password(RawPg.md5Response(USER, PASSWORD, salts.get(i))));
                }
                long t1 = System.nanoTime();
                checkErrorAndClose("idle session", idle, t1);
                checkErrorAndClose("session in pg_sleep", busy, t1);
                for (RawPg c : authenticating) {
                    checkErrorAndClose("client mid-authentication", c, t1);
                }
                // A new login while PostgreSQL is down: an error within 2 s, not a hang.
                try (RawPg c = RawPg.connect(port)) {
                    long t2 = System.nanoTime();
                    List<Msg> got = c.login(USER, PASSWORD, Map.of());
                    long ms = (System.nanoTime() - t2) / 1_000_000;
                    assertTrue(last(got).isError(), "login while down: " + got);
                    assertTrue(ms < 2000, "login while down answered after " + ms + " ms: " + got);
                    System.out.println("PostgreSQL down (stop took " + stoppedMs + " ms): new login refused in " + ms + " ms with "
                            + last(got));
                }

                // Start it again: the very next login works.
                pg[0] = EmbeddedBackend.start("17", Optional.of(data), Map.of());
                relay.rebind();
                try (RawPg c = RawPg.connect(port)) {
                    long t3 = System.nanoTime();
                    List<Msg> got = c.login(USER, PASSWORD, Map.of());
                    long ms = (System.nanoTime() - t3) / 1_000_000;
                    assertEquals('Z', last(got).tag(), "first login after the restart: " + got);
                    c.send(RawPg.query("SELECT 1"));
                    assertEquals('Z', last(c.readUntil(m -> m.tag() == 'Z' || m.isError(), 5000)).tag());
                    System.out.println("PostgreSQL back: first login served in " + ms + " ms");
                }
            }
            NettyLeaks.assertNoLeaks();
        } finally {
            pg[0].close();
        }
    }

    private static Msg last(List<Msg> msgs) {
        return msgs.get(msgs.size() - 1);
    }

    /** The client gets an ErrorResponse and a close within 2 s of {@code sinceNanos}. */
    private static void checkErrorAndClose(String who, RawPg c, long sinceNanos) throws Exception {
        try (c) {
            int left = (int) Math.max(1, 2000 - (System.nanoTime() - sinceNanos) / 1_000_000);
            List<Msg> got;
            try {
                got = c.readToEnd(left);
            } catch (SocketTimeoutException e) {
                throw new AssertionError(who + ": no error and no close within 2 s of PostgreSQL stopping");
            }
            long ms = (System.nanoTime() - sinceNanos) / 1_000_000;
            assertFalse(got.stream().noneMatch(Msg::isError), who + ": closed without an ErrorResponse: " + got);
            Msg error = got.stream().filter(Msg::isError).findFirst().orElseThrow();
            System.out.println("PostgreSQL stopped: " + who + " got " + error + " after " + ms + " ms");
        }
    }
}
