package org.pwgate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.pwgate.config.PwgateConfig.Throttle;

class FailedLoginThrottleTest {
    private static final Throttle CONFIG = new Throttle(3, Duration.ofSeconds(60), Duration.ofSeconds(1));
    private final MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final FailedLoginThrottle throttle = new FailedLoginThrottle(CONFIG, clock, 1000);

    private List<Duration> fail(String user, String address, int times) {
        List<Duration> delays = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            delays.add(throttle.recordFailure(user, address));
        }
        return delays;
    }

    @Test
    void failuresUpToTheLimitAreNotDelayedThenTheDelayGrows() {
        assertEquals(List.of(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(2),
                Duration.ofSeconds(3)), fail("app", "10.0.0.9", 6));
    }

    @Test
    void delayIsCappedAtTenTimes() {
        List<Duration> delays = fail("app", "10.0.0.9", 40);
        assertEquals(Duration.ofSeconds(10), delays.get(39));
        assertEquals(Duration.ofSeconds(10), delays.get(13));
    }

    @Test
    void anAttackerDoesNotDelayTheSameUserFromAnotherAddress() {
        fail("app", "203.0.113.66", 20);
        assertEquals(Duration.ZERO, throttle.recordFailure("app", "10.0.0.9"), "a typo from the user's own address");
    }

    @Test
    void oneAddressSprayingManyUsersIsDelayed() {
        assertEquals(List.of(Duration.ZERO), fail("u1", "203.0.113.66", 1));
        assertEquals(List.of(Duration.ZERO), fail("u2", "203.0.113.66", 1));
        assertEquals(List.of(Duration.ZERO), fail("u3", "203.0.113.66", 1));
        assertEquals(List.of(Duration.ofSeconds(1)), fail("u4", "203.0.113.66", 1));
    }

    @Test
    void successResetsItsOwnCountOnly() {
        fail("app", "10.0.0.9", 3);
        throttle.recordSuccess("app", "10.0.0.9");
        // The pair count is cleared, but the address has 3 failures: the 4th is over the limit.
        assertEquals(Duration.ofSeconds(1), throttle.recordFailure("app", "10.0.0.9"));

        FailedLoginThrottle t = new FailedLoginThrottle(new Throttle(2, Duration.ofSeconds(60), Duration.ofSeconds(1)), clock, 1000);
        t.recordFailure("a", "x");
        t.recordFailure("a", "x");
        t.recordSuccess("a", "x");
        t.recordFailure("b", "y");
        assertEquals(Duration.ofSeconds(1), t.recordFailure("a", "x"), "address x still counts 3 failures");
    }

    @Test
    void countsExpireWithTheWindow() {
        fail("app", "10.0.0.9", 5);
        clock.advance(Duration.ofSeconds(60));
        assertEquals(Duration.ZERO, throttle.recordFailure("app", "10.0.0.9"));
    }

    @Test
    void failuresJustInsideTheWindowStillCount() {
        fail("app", "10.0.0.9", 3);
        clock.advance(Duration.ofSeconds(59));
        assertEquals(Duration.ofSeconds(1), throttle.recordFailure("app", "10.0.0.9"));
    }

    @Test
    void memoryIsBounded() {
        FailedLoginThrottle t = new FailedLoginThrottle(CONFIG, clock, 100);
        for (int i = 0; i < 10_000; i++) {
            t.recordFailure("user" + i, "10.0." + (i / 250) + "." + (i % 250));
        }
        assertTrue(t.size() <= 100, "counters: " + t.size());
    }

    @Test
    void reconfigureAppliesTheNewLimit() {
        fail("app", "10.0.0.9", 2);
        throttle.reconfigure(new Throttle(1, Duration.ofSeconds(60), Duration.ofMillis(500)));
        assertEquals(Duration.ofMillis(1000), throttle.recordFailure("app", "10.0.0.9"));
    }

    @Test
    void zeroDelayNeverDelays() {
        FailedLoginThrottle t = new FailedLoginThrottle(new Throttle(1, Duration.ofSeconds(60), Duration.ZERO), clock, 1000);
        for (int i = 0; i < 20; i++) {
            assertEquals(Duration.ZERO, t.recordFailure("app", "x"));
        }
    }

    @Test
    void concurrentFailuresAreAllCounted() throws Exception {
        FailedLoginThrottle t = new FailedLoginThrottle(new Throttle(1000, Duration.ofHours(1), Duration.ofSeconds(1)), clock, 1000);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                fs.add(pool.submit(() -> {
                    for (int j = 0; j < 250; j++) {
                        t.recordFailure("app", "x");
                    }
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        // 1000 failures so far, exactly the limit: the next one is the first to wait.
        assertEquals(Duration.ofSeconds(1), t.recordFailure("app", "x"));
    }
}
