package org.pwgate.it.faults;

import org.pwgate.it.support.RawPg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.RawPg.Msg;
import org.pwgate.it.support.BufferMemory;
import org.pwgate.it.support.PwgateHarness;

/**
 * Random and mutated client messages against the real pwgate (restriction on, so the gate decodes
 * what it must) in every protocol state, while a control session keeps running SELECT 1.
 *
 * <p>Expected answers, per state, as PostgreSQL would give them:
 * <ul>
 *   <li>startup and authentication: pwgate answers itself, FATAL 08P01 and a close;</li>
 *   <li>ready, inside an extended batch, inside COPY IN: pwgate is a relay, the garbage reaches the
 *       backend, which answers with its own error (08P01 FATAL for an unknown message type, a
 *       non-fatal error for a malformed but typed message, …), or pwgate's gate closes the session
 *       with an error when it refuses to pass something. Never: a close without an ErrorResponse,
 *       or no answer at all.</li>
 * </ul>
 * After the run: the control session never failed, a new login works, no fuzz session is left on
 * the backend, no buffer leaked.
 */
class ProtocolFuzzIT {
    private static final long SEED = Long.getLong("pwgate.fuzz.seed", 8_2024L);
    private static final int PER_STATE = Integer.getInteger("pwgate.fuzz.connections", 40);
    private static final int ANSWER_MS = 5000;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        NettyLeaks.install();
        pwgate = PwgateHarness.start(true);
        pwgate.adminExecute("DROP TABLE IF EXISTS fuzz_t", "CREATE TABLE fuzz_t (a int, b text)", "GRANT ALL ON fuzz_t TO app");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pwgate != null) {
            pwgate.close();
        }
    }

    private enum State { STARTUP, AUTHENTICATION, READY, EXTENDED_BATCH, COPY_IN }

    @Test
    void everyBadConnectionGetsAnErrorAndOthersAreUnaffected() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger controlFailures = new AtomicInteger();
        AtomicInteger controlQueries = new AtomicInteger();
        AtomicLong controlWorstMs = new AtomicLong();
        Thread control = new Thread(() -> {
            try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, "ApplicationName=control");
                 Statement s = c.createStatement()) {
                while (running.get()) {
                    long t0 = System.nanoTime();
                    try (ResultSet rs = s.executeQuery("SELECT 1")) {
                        rs.next();
                        controlQueries.incrementAndGet();
                    } catch (Exception e) {
                        controlFailures.incrementAndGet();
                    }
                    controlWorstMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                controlFailures.incrementAndGet();
            }
        }, "fuzz-control");
        control.start();
        List<String> problems = new ArrayList<>();
        Map<State, int[]> outcomes = new java.util.EnumMap<>(State.class);
        try {
            Random rnd = new Random(SEED);
            for (State state : State.values()) {
                int[] counts = new int[2]; // [closed with error, survived with an error or without]
                outcomes.put(state, counts);
                for (int i = 0; i < PER_STATE; i++) {
                    long caseSeed = rnd.nextLong();
                    String what = state + " case " + i + " (seed " + SEED + ", case seed " + caseSeed + ")";
                    try {
                        String problem = fuzzOne(state, new Random(caseSeed), counts);
                        if (problem != null) {
                            problems.add(what + ": " + problem);
                        }
                    } catch (IOException e) {
                        problems.add(what + ": " + e);
                    }
                }
            }
        } finally {
            running.set(false);
            control.join(10_000);
        }
        System.out.println("protocol fuzz outcomes [closed with error, session survived]: " + outcomes.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()[0] + "/" + e.getValue()[1]).toList()
                + "; control: " + controlQueries.get() + " queries, worst " + controlWorstMs.get() + " ms");
        assertTrue(problems.isEmpty(), problems.size() + " bad outcome(s):\n" + String.join("\n", problems));
        assertEquals(0, controlFailures.get(), "the control session failed during the fuzz run");
        assertTrue(controlQueries.get() > 10, "the control session ran only " + controlQueries.get() + " queries");
        // The event loops are alive: a new session is served.
        try (Connection c = pwgate.connect(PwgateHarness.APP, PwgateHarness.APP_PASSWORD);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 41 + 1")) {
            rs.next();
            assertEquals(42, rs.getInt(1));
        }
        // No fuzz session is left on the backend (only the one just closed may linger briefly).
        Faults.awaitBackendCount(pwgate, "usename = 'app' AND application_name = 'fuzz'", 0, 3000);
        NettyLeaks.assertNoLeaks();
    }

    /** One connection: returns a description of what went wrong, or null. */
    private String fuzzOne(State state, Random rnd, int[] counts) throws IOException {
        try (RawPg c = RawPg.connect(pwgate.port())) {
            switch (state) {
                case STARTUP -> {
                    c.send(badStartup(rnd));
                    return expectFatal(c, "08P01", counts);
                }
                case AUTHENTICATION -> {
                    c.startup(PwgateHarness.APP, Map.of("application_name", "fuzz"));
                    Msg challenge = c.read(ANSWER_MS);
                    if (challenge.tag() != 'R') {
                        return "no MD5 challenge: " + challenge;
                    }
                    c.send(badAuthentication(rnd));
                    return expectFatal(c, "08P01", counts);
                }
                default -> {
                    List<Msg> login = c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of("application_name", "fuzz"));
                    if (login.get(login.size() - 1).tag() != 'Z') {
                        return "login failed: " + login;
                    }
                    byte[] prefix = new byte[0];
                    if (state == State.EXTENDED_BATCH) {
                        prefix = RawPg.concat(RawPg.parse("", "SELECT $1::int"), RawPg.bind("", ""));
                    } else if (state == State.COPY_IN) {
                        c.send(RawPg.query("COPY fuzz_t FROM STDIN"));
                        Msg g = c.read(ANSWER_MS);
                        if (g.tag() != 'G') {
                            return "no CopyInResponse: " + g;
                        }
                    }
                    byte[] garbage = inSessionGarbage(rnd, state);
                    byte[] tail = state == State.COPY_IN ? RawPg.concat(RawPg.tagged('c', new byte[0]), RawPg.sync()) : RawPg.sync();
                    try {
                        c.send(RawPg.concat(prefix, garbage, tail, RawPg.query("SELECT 7")));
                    } catch (IOException e) {
                        // pwgate may already have closed: what it said before is checked below.
                    }
                    return expectErrorOrLiveSession(c, counts, garbage);
                }
            }
        }
    }

    /** FATAL with the given SQLSTATE, then the close, within the deadline. */
    private static String expectFatal(RawPg c, String sqlState, int[] counts) throws IOException {
        List<Msg> got;
        try {
            got = c.readToEnd(ANSWER_MS);
        } catch (SocketTimeoutException e) {
            return "no answer and no close within " + ANSWER_MS + " ms";
        }
        if (got.isEmpty()) {
            return "closed without an ErrorResponse";
        }
        Msg last = got.get(got.size() - 1);
        if (!last.isError() || !sqlState.equals(last.sqlState()) || !"FATAL".equals(last.field('S'))) {
            return "expected FATAL " + sqlState + ", got " + got;
        }
        counts[0]++;
        return null;
    }

    /**
     * Either the session is still usable (our SELECT 7 answered) and any refusal came as an
     * ErrorResponse, or it was closed after an ErrorResponse. A close without one, or silence, is wrong.
     */
    private static String expectErrorOrLiveSession(RawPg c, int[] counts, byte[] garbage) throws IOException {
        List<Msg> got = new ArrayList<>();
        long deadline = System.nanoTime() + ANSWER_MS * 1_000_000L;
        while (true) {
            int left = (int) ((deadline - System.nanoTime()) / 1_000_000L);
            if (left <= 0) {
                return "no answer within " + ANSWER_MS + " ms after " + got + " for garbage " + hex(garbage);
            }
            Msg m;
            try {
                m = c.read(left);
            } catch (SocketTimeoutException e) {
                return "no answer within " + ANSWER_MS + " ms after " + got + " for garbage " + hex(garbage);
            } catch (IOException e) {
                if (got.stream().anyMatch(Msg::isError)) {
                    counts[0]++;
                    return null;
                }
                return "closed without an ErrorResponse (" + e + ") after " + got + " for garbage " + hex(garbage);
            }
            got.add(m);
            if (m.tag() == 'D' && new String(m.body(), StandardCharsets.UTF_8).endsWith("7")) {
                counts[1]++;
                return null;
            }
        }
    }

    // ------------------------------------------------------------ generators

    /** Complete bad startup packets: each must get 08P01 at once (no waiting for more bytes). */
    private static byte[] badStartup(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0 -> { // length below 8 or above PostgreSQL's 10,000
                byte[] b = new byte[8 + rnd.nextInt(16)];
                rnd.nextBytes(b);
                int len = rnd.nextBoolean() ? rnd.nextInt(8) - 4 : 10_001 + rnd.nextInt(1 << 20);
                RawPg.putInt(b, 0, len);
                return b;
            }
            case 1 -> { // right length, unknown protocol code
                byte[] b = new byte[8 + rnd.nextInt(32)];
                rnd.nextBytes(b);
                RawPg.putInt(b, 0, b.length);
                int code = rnd.nextInt();
                if (code == 196608 || code == 80877102 || code == 80877103 || code == 80877104 || (code >>> 16) == 3) {
                    code = 2 << 16;
                }
                RawPg.putInt(b, 4, code);
                return b;
            }
            case 2 -> { // 3.0, parameters without their terminator
                byte[] b = RawPg.startupMessage("app", Map.of("x", "y"));
                b[b.length - 1] = 'z';
                return b;
            }
            default -> { // 3.0, a random parameter area without a NUL at the end
                byte[] b = new byte[8 + 1 + rnd.nextInt(40)];
                rnd.nextBytes(b);
                RawPg.putInt(b, 0, b.length);
                RawPg.putInt(b, 4, 196608);
                b[b.length - 1] = (byte) ('a' + rnd.nextInt(26));
                return b;
            }
        }
    }

    /** Complete bad messages after the MD5 challenge. */
    private static byte[] badAuthentication(Random rnd) {
        switch (rnd.nextInt(4)) {
            case 0 -> { // any other message type
                byte[] body = new byte[rnd.nextInt(32)];
                rnd.nextBytes(body);
                char tag;
                do {
                    tag = (char) rnd.nextInt(256);
                } while (tag == 'p');
                return RawPg.tagged(tag, body);
            }
            case 1 -> { // length below 4
                byte[] b = {'p', 0, 0, 0, (byte) rnd.nextInt(4)};
                return b;
            }
            case 2 -> { // above max_message_size (256 MiB here)
                byte[] b = {'p', 0, 0, 0, 0};
                RawPg.putInt(b, 1, (256 << 20) + 5 + rnd.nextInt(1 << 20));
                return b;
            }
            default -> { // a password packet without its terminator
                byte[] body = new byte[1 + rnd.nextInt(40)];
                for (int i = 0; i < body.length; i++) {
                    body[i] = (byte) (1 + rnd.nextInt(255));
                }
                return RawPg.tagged('p', body);
            }
        }
    }

    private static final char[] SESSION_TAGS = {'Q', 'P', 'B', 'E', 'D', 'C', 'F', 'H', 'd', 'f', 'p', 'A', 'Z', '\u00ff', '\0'};

    /** Complete frames with random or mutated bodies (lengths always right: pwgate waits for announced bytes). */
    private static byte[] inSessionGarbage(Random rnd, State state) {
        int n = 1 + rnd.nextInt(3);
        byte[][] parts = new byte[n][];
        for (int i = 0; i < n; i++) {
            char tag = state == State.COPY_IN && rnd.nextBoolean() ? 'd' : SESSION_TAGS[rnd.nextInt(SESSION_TAGS.length)];
            byte[] body;
            if (rnd.nextBoolean()) {
                body = new byte[rnd.nextInt(48)];
                rnd.nextBytes(body);
            } else {
                body = switch (tag) {
                    case 'Q' -> "SELECT 1; ALTER ROLE app PASSWORD 'x'\0".getBytes(StandardCharsets.UTF_8);
                    case 'P' -> "\0ALTER USER app PASSWORD 'y'\0\0\1".getBytes(StandardCharsets.UTF_8);
                    case 'B' -> "\0\0\0\1\0\0\0\2".getBytes(StandardCharsets.UTF_8);
                    case 'E' -> "nope\0\0\0".getBytes(StandardCharsets.UTF_8);
                    case 'd' -> "x\ty\tz\n\\N\n".getBytes(StandardCharsets.UTF_8);
                    default -> new byte[rnd.nextInt(4)];
                };
                if (body.length > 0 && rnd.nextBoolean()) {
                    body[rnd.nextInt(body.length)] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            parts[i] = RawPg.tagged(tag, body);
        }
        return RawPg.concat(parts);
    }

    // ------------------------------------------------------------ memory

    @Test
    void aOneGibibyteHeaderIsRefusedWithoutBuffering() throws Exception {
        long before = BufferMemory.used();
        for (boolean inSession : new boolean[] {false, true}) {
            try (RawPg c = RawPg.connect(pwgate.port())) {
                if (inSession) {
                    c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
                } else {
                    c.startup(PwgateHarness.APP, Map.of());
                    c.read(ANSWER_MS);
                }
                byte[] header = {inSession ? (byte) 'Q' : (byte) 'p', 0, 0, 0, 0};
                RawPg.putInt(header, 1, 1 << 30);
                c.send(header);
                try {
                    c.send(new byte[64 * 1024]);
                } catch (IOException closedAlready) {
                    // fine: refused on the header alone
                }
                List<Msg> got = c.readToEnd(ANSWER_MS);
                assertTrue(!got.isEmpty() && "08P01".equals(got.get(got.size() - 1).sqlState()), "got " + got);
            }
        }
        long grown = BufferMemory.used() - before;
        assertTrue(grown < 16 << 20, "buffer memory grew by " + grown + " bytes");
    }

    /**
     * A header announcing a large message under max_message_size, sent before authentication
     * with a few kilobytes behind it, must not make pwgate reserve the announced size: four such
     * clients here would hold 800 MiB; a thousand would exhaust any server, unauthenticated.
     */
    @Test
    void unauthenticatedClientsCannotMakePwgateReserveAnnouncedSizes() throws Exception {
        long before = BufferMemory.used();
        List<RawPg> clients = new ArrayList<>();
        long grown;
        try {
            for (int i = 0; i < 4; i++) {
                RawPg c = RawPg.connect(pwgate.port());
                clients.add(c);
                c.startup(PwgateHarness.APP, Map.of());
                c.read(ANSWER_MS);
                byte[] header = {'p', 0, 0, 0, 0};
                RawPg.putInt(header, 1, 200 << 20);
                c.send(header);
                for (int k = 0; k < 3; k++) {
                    Thread.sleep(20); // separate reads, so that the cumulation has to grow
                    try {
                        c.send(new byte[16 * 1024]);
                    } catch (IOException refusedAlready) {
                        break; // pwgate refused the header itself (above its pre-authentication cap)
                    }
                }
            }
            Thread.sleep(200);
            grown = BufferMemory.used() - before;
        } finally {
            clients.forEach(RawPg::close);
        }
        assertTrue(grown < 32 << 20, "4 unauthenticated clients that sent 48 KiB each made pwgate's buffer memory grow by "
                + (grown >> 20) + " MiB");
    }


    private static String hex(byte[] b) {
        return io.netty.buffer.ByteBufUtil.hexDump(b, 0, Math.min(b.length, 80));
    }

}
