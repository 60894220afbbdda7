package org.pwgate.auth;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.pwgate.config.PwgateConfig.Throttle;

/**
 * Slows down password guessing without locking anyone out. Failures are counted per
 * (user, client address) and per client address within the configured window; once either
 * count passes the limit, the answer to each further <em>failed</em> attempt is delayed by
 * {@code delay × (failures − limit)}, capped at {@link #MAX_FACTOR} × delay.
 *
 * <p>Why this shape: only failed attempts wait, so the right password always gets in at full
 * speed; counters are keyed by address, so guesses from one address never slow the same user
 * connecting from another. The per-address count catches one address spraying many user names.
 * A success resets only its own (user, address) count, never the address's, so an attacker who
 * owns one valid account cannot wash the address count with it.
 *
 * <p>Memory is bounded: at most {@code maxEntries} counters, the oldest evicted first. Thread-safe
 * (sessions on different event loops share one throttle); the critical sections are map updates.
 */
public final class FailedLoginThrottle {
    public static final int DEFAULT_MAX_ENTRIES = 100_000;
    public static final int MAX_FACTOR = 10;

    private final Clock clock;
    private final int maxEntries;
    private final Map<Object, Counter> counters;
    private Throttle config;

    private record PairKey(String user, String address) {}

    private record AddressKey(String address) {}

    /** Failures counted since {@code windowStart}; a fixed window that restarts once it has passed. */
    private record Counter(Instant windowStart, int failures) {}

    public FailedLoginThrottle(Throttle config, Clock clock, int maxEntries) {
        if (maxEntries < 2) {
            throw new IllegalArgumentException("maxEntries must be at least 2");
        }
        this.config = Objects.requireNonNull(config);
        this.clock = Objects.requireNonNull(clock);
        this.maxEntries = maxEntries;
        this.counters = new LinkedHashMap<>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Object, Counter> eldest) {
                return size() > FailedLoginThrottle.this.maxEntries;
            }
        };
    }

    public FailedLoginThrottle(Throttle config) {
        this(config, Clock.systemUTC(), DEFAULT_MAX_ENTRIES);
    }

    /** Applies a reloaded limit/window/delay; the counts collected so far are kept. */
    public synchronized void reconfigure(Throttle newConfig) {
        this.config = Objects.requireNonNull(newConfig);
    }

    /**
     * Counts one failed login and returns how long to wait before answering it (zero while under
     * the limit).
     */
    public synchronized Duration recordFailure(String user, String clientAddress) {
        Instant now = clock.instant();
        int pair = increment(new PairKey(user, clientAddress), now);
        int address = increment(new AddressKey(clientAddress), now);
        return delayFor(Math.max(pair, address));
    }

    /** A successful login clears its (user, address) count; the address's count stays. */
    public synchronized void recordSuccess(String user, String clientAddress) {
        counters.remove(new PairKey(user, clientAddress));
    }

    /** The number of counters held (for tests and metrics). */
    public synchronized int size() {
        return counters.size();
    }

    private int increment(Object key, Instant now) {
        Counter c = counters.remove(key);
        if (c == null || !now.isBefore(c.windowStart().plus(config.window()))) {
            c = new Counter(now, 0);
        }
        c = new Counter(c.windowStart(), c.failures() + 1);
        // Re-inserted so that eviction order follows the latest activity.
        counters.put(key, c);
        if (counters.size() > maxEntries / 2) {
            purgeExpired(now);
        }
        return c.failures();
    }

    private void purgeExpired(Instant now) {
        Iterator<Counter> it = counters.values().iterator();
        while (it.hasNext()) {
            Counter c = it.next();
            if (!now.isBefore(c.windowStart().plus(config.window()))) {
                it.remove();
            } else {
                // Entries are in activity order, but windows start at different times; stop at
                // the first live one to keep the purge cheap rather than exhaustive.
                break;
            }
        }
    }

    private Duration delayFor(int failures) {
        int excess = failures - config.limit();
        if (excess <= 0) {
            return Duration.ZERO;
        }
        return config.delay().multipliedBy(Math.min(excess, MAX_FACTOR));
    }
}
