package org.pwgate.it.faults;

import org.pwgate.it.support.RawPg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.RawPg.Msg;
import org.pwgate.it.support.PwgateHarness;

/**
 * Slow and abusive clients: bytes trickled one every 500 ms until auth_timeout, and a storm of
 * 2,000 connection attempts against max_client_connections 100.
 */
class SlowClientsIT {
    static final int LIMIT = 100;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        NettyLeaks.install();
        pwgate = PwgateHarness.startYaml(PwgateHarness.baseYaml(false)
                .replace("max_client_connections: 400", "max_client_connections: " + LIMIT)
                .replace("auth_timeout: 5s", "auth_timeout: 2s"));
        pwgate.adminExecute("DROP ROLE IF EXISTS storm", "CREATE ROLE storm LOGIN PASSWORD '" + PwgateHarness.md5("storm", "storm") + "'");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
        NettyLeaks.assertNoLeaks();
    }

    /**
     * 20 clients trickle a valid startup packet (then a password) one byte every 500 ms: each is
     * closed at auth_timeout (2 s) with 57014; meanwhile 20 ordinary logins take no longer than
     * they do without the tricklers.
     */
    @Test
    void tricklingClientsAreClosedAtAuthTimeoutAndDoNotDelayOthers() throws Exception {
        int tricklers = 20;
        ExecutorService pool = Executors.newFixedThreadPool(tricklers);
        List<Future<long[]>> results = new ArrayList<>();
        try {
            for (int i = 0; i < tricklers; i++) {
                results.add(pool.submit(() -> trickle()));
            }
            Thread.sleep(300);
            List<Long> loginMs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
                     Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                    rs.next();
                }
                loginMs.add((System.nanoTime() - t0) / 1_000_000);
            }
            Collections.sort(loginMs);
            System.out.println("logins during trickling: median " + loginMs.get(10) + " ms, worst " + loginMs.get(19) + " ms");
            assertTrue(loginMs.get(19) < 1000, "a login took " + loginMs.get(19) + " ms while clients trickled");
            for (Future<long[]> f : results) {
                long[] r = f.get(10, TimeUnit.SECONDS);
                long closedAfter = r[0];
                assertTrue(closedAfter >= 1800 && closedAfter < 3500, "a trickler was closed after " + closedAfter + " ms");
                assertEquals(1, r[1], "the trickler did not get 57014 before the close");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Returns {ms until closed, 1 if a 57014 error came first}. */
    private static long[] trickle() throws IOException {
        byte[] bytes = RawPg.startupMessage(PwgateHarness.APP, Map.of("application_name", "trickler"));
        try (RawPg c = RawPg.connect(pwgate.port())) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 40; i++) { // 20 s at most
                try {
                    c.send(new byte[] {bytes[i % bytes.length]});
                } catch (IOException e) {
                    return new long[] {(System.nanoTime() - t0) / 1_000_000, 0};
                }
                try {
                    List<Msg> got = c.readToEnd(500);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    boolean timeoutError = got.stream().anyMatch(m -> "57014".equals(m.sqlState()));
                    return new long[] {ms, timeoutError ? 1 : 0};
                } catch (SocketTimeoutException stillOpen) {
                    // next byte
                }
            }
            return new long[] {Long.MAX_VALUE, 0};
        }
    }

    /**
     * 2,000 attempts from 64 threads while 90 sessions are held: connect and close, connect +
     * StartupMessage and close, or a full login with SELECT 1. The limit holds on the backend
     * (never more than 100 sessions), the excess gets 53300, nothing else goes wrong, and the
     * server serves normally afterwards.
     */
    @Test
    void aStormOfTwoThousandConnectionAttemptsRespectsMaxClientConnections() throws Exception {
        List<Connection> held = new ArrayList<>();
        AtomicBoolean sampling = new AtomicBoolean(true);
        AtomicInteger maxSessions = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            try (Connection a = pwgate.admin()) {
                while (sampling.get()) {
                    maxSessions.accumulateAndGet(Faults.backendCount(a, "usename = 'storm'"), Math::max);
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                maxSessions.set(Integer.MAX_VALUE);
            }
        }, "storm-sampler");
        Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(64);
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < 90; i++) {
                held.add(pwgate.connect("storm", "storm"));
            }
            sampler.start();
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                int kind = i % 3;
                futures.add(pool.submit(() -> outcomes.computeIfAbsent(attempt(kind), k -> new AtomicInteger()).incrementAndGet()));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            sampling.set(false);
            sampler.join(5000);
            for (Connection c : held) {
                c.close();
            }
        }
        long seconds = (System.nanoTime() - t0) / 1_000_000_000;
        System.out.println("storm: " + outcomes + " in " + seconds + " s; most storm sessions on the backend at once: "
                + maxSessions.get());
        assertTrue(maxSessions.get() <= LIMIT, "the backend had " + maxSessions.get() + " sessions of the storm user");
        assertTrue(outcomes.getOrDefault("53300", new AtomicInteger()).get() > 0, "nobody got 53300: " + outcomes);
        for (String k : outcomes.keySet()) {
            assertTrue(k.equals("53300") || k.equals("served") || k.equals("challenged") || k.equals("closed"),
                    "unexpected outcome " + k + ": " + outcomes);
        }
        Faults.awaitBackendCount(pwgate, "usename = 'storm'", 0, 5000);
        try (Connection c = pwgate.connect("storm", "storm"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1")) {
            assertTrue(rs.next());
        }
    }

    private static String attempt(int kind) {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            if (kind == 0) {
                return "closed";
            }
            if (kind == 1) {
                c.startup("storm", Map.of());
                Msg m = c.read(10_000);
                return m.isError() ? m.sqlState() : m.tag() == 'R' ? "challenged" : "unexpected " + m;
            }
            List<Msg> got = c.login("storm", "storm", Map.of());
            Msg last = got.get(got.size() - 1);
            if (last.isError()) {
                return last.sqlState();
            }
            c.send(RawPg.query("SELECT 1"));
            c.readUntil(m -> m.tag() == 'Z' || m.isError(), 10_000);
            return "served";
        } catch (IOException e) {
            return "io: " + e.getClass().getSimpleName() + " " + e.getMessage();
        }
    }
}
