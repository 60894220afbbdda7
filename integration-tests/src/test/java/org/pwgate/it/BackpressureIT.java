package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.BufferMemory;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;
import org.pwgate.it.support.StreamedRow;

/**
 * Backpressure both ways, against a real PostgreSQL: a client that stops reading a huge result,
 * and a client that streams COPY data into a backend that cannot take it, must not make pwgate
 * buffer more than its write-buffer water marks (plus the buffers of a read or two).
 */
class BackpressureIT {
    /** Far above the water marks (128 KiB) and a few pool chunks, far below the traffic involved. */
    static final long MAX_GROWTH = 32L << 20;
    static PwgateHarness pwgate;

    @BeforeAll
    static void start() throws Exception {
        pwgate = PwgateHarness.start(false);
        pwgate.adminExecute("DROP TABLE IF EXISTS bp_copy", "CREATE TABLE bp_copy (v text)", "GRANT ALL ON bp_copy TO app");
    }

    @AfterAll
    static void stop() throws Exception {
        pwgate.close();
    }


    @Test
    void aClientThatStopsReadingAHugeResultDoesNotFillPwgatesMemory() throws Exception {
        long before = BufferMemory.used();
        try (RawPg c = RawPg.connect(pwgate.port())) {
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
            // About 1 GB of rows; the client reads none of them for three seconds.
            c.send(RawPg.query("SELECT repeat('x', 1000) FROM generate_series(1, 1000000)"));
            Thread.sleep(3000);
            long grown = BufferMemory.used() - before;
            assertTrue(grown < MAX_GROWTH, "pwgate buffered " + (grown >> 20) + " MiB for a client that reads nothing");
            // Reading resumes the flow: rows keep coming.
            for (int i = 0; i < 1000; i++) {
                RawPg.Msg m = c.read(10_000);
                assertTrue(m.tag() == 'T' || m.tag() == 'D', "got " + m);
            }
        }
    }

    @Test
    void aClientThatStopsReadingOneHugeRowDoesNotMakePwgateGatherTheRow() throws Exception {
        // One DataRow of 200 MB: it goes on as its bytes come (FrameDecoder.STREAMED_DATA), held
        // back by the water marks like a stream of small rows, not gathered whole first. Measured
        // once PostgreSQL has sent all it can: it waits to write (ClientWrite), or is done.
        long before = BufferMemory.used();
        try (RawPg c = RawPg.connect(pwgate.port()); Connection admin = pwgate.admin()) {
            StreamedRow.startAndBlock(c, admin, "bp_huge_row");
            long grown = BufferMemory.used() - before;
            assertTrue(grown < MAX_GROWTH, "pwgate buffered " + (grown >> 20) + " MiB of a row the client did not read");
            assertEquals('T', c.read(10_000).tag());
            assertEquals(2 + 4 + StreamedRow.VALUE_LENGTH, c.skip('D', 60_000), "the whole row arrives once the client reads");
            assertEquals('C', c.read(10_000).tag());
            assertEquals('Z', c.read(10_000).tag());
            c.send(RawPg.query("SELECT 1"));
            assertEquals(List.of('T', 'D', 'C', 'Z'), c.readUntil(m -> m.tag() == 'Z', 10_000).stream().map(RawPg.Msg::tag).toList());
        }
    }

    @Test
    void oneHugeCopyDataIntoABlockedBackendIsNotGatheredWhole() throws Exception {
        // 48 MiB in one CopyData (limits.max_message_size is 64 MiB): it goes on as it comes, as
        // far as the backend takes it, and the client is held back from there.
        byte[] huge = RawPg.copyData("z".repeat((48 << 20) - 1) + "\n");
        try (Connection lock = pwgate.admin(); RawPg c = RawPg.connect(pwgate.port())) {
            lockCopyTableAndLogIn(lock, c);
            long before = BufferMemory.used();
            c.send(RawPg.query("COPY bp_copy FROM STDIN"));
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    c.send(huge);
                    c.send(RawPg.tagged('c', new byte[0]));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(3000);
            long grown = BufferMemory.used() - before;
            assertTrue(grown < MAX_GROWTH, "pwgate buffered " + (grown >> 20) + " MiB of one CopyData the backend could not take");
            assertTrue(!writer.isDone(), "the client could send all of it to a blocked backend");
            lock.rollback();
            writer.get(60, TimeUnit.SECONDS);
            List<RawPg.Msg> answers = c.readUntil(m -> m.tag() == 'Z', 60_000);
            assertTrue(answers.stream().anyMatch(m -> m.tag() == 'C' && new String(m.body(), StandardCharsets.UTF_8).startsWith("COPY 1")),
                    "the one line went in: " + answers);
        }
    }

    /**
     * Locks bp_copy in an open transaction of {@code lock} and logs {@code c} in as app: the
     * backend cannot start a COPY into the table until {@code lock} rolls back, so it reads
     * nothing meanwhile.
     */
    static void lockCopyTableAndLogIn(Connection lock, RawPg c) throws Exception {
        lock.setAutoCommit(false);
        try (Statement s = lock.createStatement()) {
            s.execute("LOCK TABLE bp_copy IN ACCESS EXCLUSIVE MODE");
        }
        c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
    }

    /** pwgate_client_bytes_total for {@code direction} ("in": read from clients, "out": written to them). */
    static long clientBytes(String direction) {
        Matcher m = Pattern.compile("(?m)^pwgate_client_bytes_total\\{direction=\"" + direction + "\"[^}]*} ([0-9.E]+)$")
                .matcher(pwgate.server().metrics().scrape());
        assertTrue(m.find(), "no pwgate_client_bytes_total{direction=" + direction + "}");
        return (long) Double.parseDouble(m.group(1));
    }

    /**
     * A client that pipelines two million Syncs and reads none of the answers. Every Sync that
     * pwgate forwards owes an answer, kept in the gate's accounting until it comes back; only the
     * socket buffers toward the backend bounded that before (about two million entries, tens of
     * MiB, for one session). pwgate now stops reading such a client once the backend owes 16,384
     * answers, and the client may add one read (64 KiB, 13,107 Syncs) on top. Once the client
     * reads, the answers flow again, in order.
     */
    @Test
    void aClientThatPipelinesWithoutReadingIsHeldBackNotQueued() throws Exception {
        int perBatch = 10_000;
        byte[] batch = RawPg.concat(java.util.Collections.nCopies(perBatch, RawPg.sync()).toArray(new byte[0][]));
        CompletableFuture<Void> writer;
        try (RawPg c = RawPg.connect(pwgate.port())) {
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
            long inBefore = clientBytes("in");
            long outBefore = clientBytes("out");
            writer = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 200; i++) {
                        c.send(batch);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e); // the socket is closed under it at the end
                }
            });
            Thread.sleep(4000);
            long forwarded = (clientBytes("in") - inBefore) / 5;  // Sync: 5 bytes
            long answered = (clientBytes("out") - outBefore) / 6; // ReadyForQuery: 6 bytes
            assertTrue(forwarded > 20_000, "the client's Syncs did not reach pwgate: " + forwarded);
            long owed = forwarded - answered;
            assertTrue(owed <= 16_384 + 13_107, "pwgate took " + forwarded + " Syncs and relayed " + answered
                    + " answers: the backend owes " + owed + " for a client that reads nothing");

            // Far more answers than pwgate lets the client owe at once: the hold is lifted as they are read.
            c.socket.setSoTimeout(30_000);
            InputStream in = new BufferedInputStream(c.socket.getInputStream(), 1 << 16);
            byte[] ready = {'Z', 0, 0, 0, 5, 'I'};
            byte[] got = new byte[ready.length];
            for (int i = 0; i < 100_000; i++) {
                int n = in.readNBytes(got, 0, got.length);
                assertEquals(got.length, n, "the stream ended after " + i + " answers");
                if (!Arrays.equals(ready, got)) {
                    throw new AssertionError("answer " + i + " is not ReadyForQuery(I): " + Arrays.toString(got));
                }
            }
        }
        writer.handle((v, e) -> null).get(30, TimeUnit.SECONDS);
    }

    @Test
    void aFastCopyIntoABlockedBackendDoesNotFillPwgatesMemory() throws Exception {
        byte[] chunk = RawPg.copyData("y".repeat(1023) + "\n");
        byte[] batch = RawPg.concat(java.util.Collections.nCopies(64, chunk).toArray(new byte[0][]));
        long total = 64L << 20;
        try (Connection lock = pwgate.admin(); RawPg c = RawPg.connect(pwgate.port())) {
            lockCopyTableAndLogIn(lock, c);
            long before = BufferMemory.used();
            c.send(RawPg.query("COPY bp_copy FROM STDIN"));
            AtomicLong sent = new AtomicLong();
            AtomicLong batches = new AtomicLong();
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    while (sent.get() < total) {
                        c.send(batch);
                        sent.addAndGet(batch.length);
                        batches.incrementAndGet();
                    }
                    c.send(RawPg.tagged('c', new byte[0]));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(3000);
            long grown = BufferMemory.used() - before;
            long stuck = sent.get();
            assertTrue(grown < MAX_GROWTH, "pwgate buffered " + (grown >> 20) + " MiB of COPY data the backend could not take");
            assertTrue(stuck < total, "the client could send all " + (total >> 20) + " MiB to a blocked backend");
            lock.rollback(); // the backend takes the COPY now
            writer.get(60, TimeUnit.SECONDS);
            List<RawPg.Msg> answers = c.readUntil(m -> m.tag() == 'Z', 60_000);
            RawPg.Msg complete = answers.stream().filter(m -> m.tag() == 'C').findFirst().orElseThrow(
                    () -> new AssertionError("no CommandComplete: " + answers));
            assertEquals("COPY " + batches.get() * 64, new String(complete.body(), 0, complete.body().length - 1, StandardCharsets.UTF_8));
        }
    }
}
