package org.pwgate.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.it.support.PwgateHarness;
import org.pwgate.it.support.RawPg;

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

    static long bufferMemory() {
        var m = PooledByteBufAllocator.DEFAULT.metric();
        return m.usedDirectMemory() + m.usedHeapMemory();
    }

    @Test
    void aClientThatStopsReadingAHugeResultDoesNotFillPwgatesMemory() throws Exception {
        long before = bufferMemory();
        try (RawPg c = RawPg.connect(pwgate.port())) {
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
            // About 1 GB of rows; the client reads none of them for three seconds.
            c.send(RawPg.query("SELECT repeat('x', 1000) FROM generate_series(1, 1000000)"));
            Thread.sleep(3000);
            long grown = bufferMemory() - before;
            assertTrue(grown < MAX_GROWTH, "pwgate buffered " + (grown >> 20) + " MiB for a client that reads nothing");
            // Reading resumes the flow: rows keep coming.
            for (int i = 0; i < 1000; i++) {
                RawPg.Msg m = c.read(10_000);
                assertTrue(m.tag() == 'T' || m.tag() == 'D', "got " + m);
            }
        }
    }

    @Test
    void aFastCopyIntoABlockedBackendDoesNotFillPwgatesMemory() throws Exception {
        byte[] chunk = RawPg.copyData("y".repeat(1023) + "\n");
        byte[] batch = RawPg.concat(java.util.Collections.nCopies(64, chunk).toArray(new byte[0][]));
        long total = 64L << 20;
        try (Connection lock = pwgate.admin(); Statement s = lock.createStatement();
             RawPg c = RawPg.connect(pwgate.port())) {
            lock.setAutoCommit(false);
            // The backend cannot start the COPY while the table is locked, so it reads nothing.
            s.execute("LOCK TABLE bp_copy IN ACCESS EXCLUSIVE MODE");
            c.login(PwgateHarness.APP, PwgateHarness.APP_PASSWORD, Map.of());
            long before = bufferMemory();
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
            long grown = bufferMemory() - before;
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
