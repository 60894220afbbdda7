package org.pwgate.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;

/** The ordering logic only: fake sessions. The real drain is DrainIT, through the jar. */
class ShutdownCoordinatorTest {
    final ShutdownCoordinator coordinator = new ShutdownCoordinator();
    final List<String> events = new CopyOnWriteArrayList<>();

    /** A session that is busy until {@code busyUntilNanos}, closes when terminated. */
    final class FakeSession implements ShutdownCoordinator.LiveSession {
        final String name;
        final long busyUntil;
        volatile ErrorResponse terminatedWith;
        volatile long terminatedAt;
        volatile ShutdownCoordinator.Registration registration;
        volatile boolean closed;

        FakeSession(String name, Duration busyFor) {
            this.name = name;
            this.busyUntil = System.nanoTime() + busyFor.toNanos();
            this.registration = coordinator.register(this);
            if (closed) { // terminated inside register: like a close-future listener added late, it runs now
                registration.close();
            }
        }

        @Override
        public boolean isIdle() {
            return System.nanoTime() >= busyUntil;
        }

        @Override
        public void terminate(ErrorResponse error) {
            terminatedWith = error;
            terminatedAt = System.nanoTime();
            events.add("terminate " + name + (isIdle() ? " idle" : " busy"));
            closed = true; // the channel closes
            if (registration != null) {
                registration.close();
            }
        }
    }

    @Test
    void stopsAcceptingFirstThenEndsIdleSessionsAsTheyBecomeIdleAndTheRestAtTheDeadline() throws Exception {
        FakeSession idle = new FakeSession("idle", Duration.ZERO);
        FakeSession shortQuery = new FakeSession("short", Duration.ofMillis(300));
        FakeSession longQuery = new FakeSession("long", Duration.ofSeconds(60));
        long t0 = System.nanoTime();

        ShutdownCoordinator.Report report = coordinator.drain(Duration.ofSeconds(1), () -> events.add("stop accepting"));

        long elapsed = System.nanoTime() - t0;
        assertEquals(List.of("stop accepting", "terminate idle idle", "terminate short idle", "terminate long busy"), events);
        assertEquals(new ShutdownCoordinator.Report(2, 1, 0), report);
        for (FakeSession s : List.of(idle, shortQuery, longQuery)) {
            assertEquals(ShutdownCoordinator.ADMIN_SHUTDOWN, s.terminatedWith);
        }
        assertEquals("57P01", ShutdownCoordinator.ADMIN_SHUTDOWN.fields().get('C'));
        assertEquals("FATAL", ShutdownCoordinator.ADMIN_SHUTDOWN.fields().get('S'));
        // The idle one at once, the short one right after its query, the long one at the deadline.
        assertTrue(idle.terminatedAt - t0 < TimeUnit.MILLISECONDS.toNanos(200));
        assertTrue(shortQuery.terminatedAt - t0 >= TimeUnit.MILLISECONDS.toNanos(300));
        assertTrue(shortQuery.terminatedAt - t0 < TimeUnit.MILLISECONDS.toNanos(700));
        assertTrue(longQuery.terminatedAt - t0 >= TimeUnit.MILLISECONDS.toNanos(1000));
        assertTrue(elapsed < TimeUnit.MILLISECONDS.toNanos(2000), "returns once every session closed");
        assertEquals(0, coordinator.liveSessions());
    }

    @Test
    void returnsAsSoonAsEverySessionIsGoneWithoutWaitingForTheDeadline() throws Exception {
        new FakeSession("a", Duration.ofMillis(100));
        long t0 = System.nanoTime();
        ShutdownCoordinator.Report report = coordinator.drain(Duration.ofSeconds(30), () -> { });
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2));
        assertEquals(new ShutdownCoordinator.Report(1, 0, 0), report);
    }

    @Test
    void aSessionThatClosesByItselfIsNotTerminated() throws Exception {
        FakeSession leaving = new FakeSession("leaving", Duration.ofSeconds(60));
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                return;
            }
            leaving.registration.close(); // the client sent Terminate
        });
        t.start();
        ShutdownCoordinator.Report report = coordinator.drain(Duration.ofSeconds(5), () -> { });
        t.join();
        assertNull(leaving.terminatedWith);
        assertEquals(new ShutdownCoordinator.Report(0, 0, 0), report);
    }

    @Test
    void aSessionEstablishedDuringTheDrainIsEndedAtOnce() throws Exception {
        FakeSession busy = new FakeSession("busy", Duration.ofMillis(400));
        Thread late = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            new FakeSession("late", Duration.ofSeconds(60));
        });
        late.start();
        coordinator.drain(Duration.ofSeconds(5), () -> { });
        late.join();
        assertTrue(events.contains("terminate late busy"), events.toString());
        assertEquals("terminate busy idle", events.get(events.size() - 1));
        assertEquals(ShutdownCoordinator.ADMIN_SHUTDOWN, busy.terminatedWith);
    }

    @Test
    void reportsSessionsThatDoNotCloseInTime() throws Exception {
        ShutdownCoordinator.LiveSession stuck = new ShutdownCoordinator.LiveSession() {
            @Override
            public boolean isIdle() {
                return false;
            }

            @Override
            public void terminate(ErrorResponse error) {
                events.add("terminate stuck");
            }
        };
        coordinator.register(stuck);
        ShutdownCoordinator.Report report = coordinator.drain(Duration.ofMillis(100), () -> { });
        assertEquals(new ShutdownCoordinator.Report(0, 1, 1), report);
        assertEquals(List.of("terminate stuck"), events);
    }
}
