package org.pwgate.proxy.admin;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.pwgate.config.Units;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.SqlState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Graceful shutdown (SIGTERM): stop accepting, let running queries finish within the drain time,
 * end each session as soon as it is idle, and end whatever still runs at the deadline.
 *
 * <pre>
 *   drain(t):  stopAccepting (listener closed, /readyz 503)
 *              every POLL until t: idle sessions  -> terminate(57P01), drop
 *                                  no session left -> done
 *              at t: every remaining session      -> terminate(57P01)
 *              wait (at most CLOSE_WAIT) for them to close, so the FATAL reaches the client
 * </pre>
 *
 * Sessions register when established and deregister when their channel closes. "Idle" is the
 * session's own answer ({@link LiveSession#isIdle()}); {@code QueryTracker} gives it: nothing
 * awaiting its ReadyForQuery and no open transaction block. A session can turn busy between the
 * check and the termination (its client sent a query in that instant); it then gets the same
 * 57P01 a query past the deadline gets, which is what PostgreSQL's own fast shutdown sends.
 */
public final class ShutdownCoordinator {
    private static final Logger log = LoggerFactory.getLogger(ShutdownCoordinator.class);

    /** What the client sees, as PostgreSQL itself says it on a fast shutdown. */
    public static final ErrorResponse ADMIN_SHUTDOWN =
            ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");

    static final Duration POLL = Duration.ofMillis(50);
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** One established client session, as seen by the shutdown. */
    public interface LiveSession {
        /** No query in flight and no open transaction: ending it now loses nothing. Any thread. */
        boolean isIdle();

        /**
         * Writes {@code error} to the client, flushes, then closes the client and its backend.
         * Any thread: implementations hop to the session's event loop.
         */
        void terminate(ErrorResponse error);
    }

    /** Deregisters a session; call it when the session's channel closes. */
    public interface Registration extends AutoCloseable {
        @Override
        void close();
    }

    /** How a drain went, for the log. */
    public record Report(int endedIdle, int endedAtDeadline, int stillOpen) {}

    private final Set<LiveSession> live = ConcurrentHashMap.newKeySet();
    private final LongSupplier nanoTime;
    private volatile boolean draining;

    public ShutdownCoordinator() {
        this(System::nanoTime);
    }

    ShutdownCoordinator(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /**
     * Adds an established session. A session registered after the drain started (its login was
     * already under way) is ended at once, from within this call: the proxy is going away. So
     * deregister from the channel's close future (a listener added to a closed channel's future
     * runs at once), not from {@link LiveSession#terminate}.
     */
    public Registration register(LiveSession session) {
        live.add(session);
        if (draining) {
            session.terminate(ADMIN_SHUTDOWN);
        }
        return () -> live.remove(session);
    }

    /** Sessions registered and not yet closed (ended ones count until their channel closes). */
    public int liveSessions() {
        return live.size();
    }

    public boolean draining() {
        return draining;
    }

    /**
     * Runs the drain on the calling thread (the shutdown hook's); returns once every session is
     * ended or {@link #CLOSE_WAIT} after the deadline. {@code stopAccepting} runs first and should
     * close the listener and mark /readyz not ready.
     */
    public Report drain(Duration drainTime, Runnable stopAccepting) throws InterruptedException {
        draining = true;
        stopAccepting.run();
        int atStart = live.size();
        log.info("shutting down: {} session(s) open, waiting up to {} for running queries", atStart,
                Units.format(drainTime));
        Set<LiveSession> ended = new HashSet<>();
        int endedIdle = 0;
        long deadline = nanoTime.getAsLong() + drainTime.toNanos();
        while (true) {
            boolean pending = false;
            for (LiveSession s : new ArrayList<>(live)) {
                if (ended.contains(s)) {
                    continue;
                }
                if (s.isIdle()) {
                    ended.add(s);
                    s.terminate(ADMIN_SHUTDOWN);
                    endedIdle++;
                } else {
                    pending = true;
                }
            }
            if (!pending || nanoTime.getAsLong() - deadline >= 0) {
                break;
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(POLL.toNanos(), Math.max(1, deadline - nanoTime.getAsLong())));
        }
        int endedAtDeadline = 0;
        for (LiveSession s : new ArrayList<>(live)) {
            if (ended.add(s)) {
                s.terminate(ADMIN_SHUTDOWN);
                endedAtDeadline++;
            }
        }
        if (endedAtDeadline > 0) {
            log.warn("drain time {} over: ended {} session(s) with a query still running", Units.format(drainTime), endedAtDeadline);
        }
        // Ended sessions stay registered until their channel closes: waiting for that lets each
        // FATAL reach its client before the event loops stop.
        long closeDeadline = nanoTime.getAsLong() + CLOSE_WAIT.toNanos();
        while (!live.isEmpty() && nanoTime.getAsLong() - closeDeadline < 0) {
            TimeUnit.NANOSECONDS.sleep(POLL.toNanos());
        }
        Report report = new Report(endedIdle, endedAtDeadline, live.size());
        log.info("drained: {} session(s) ended when idle, {} at the deadline{}", endedIdle, endedAtDeadline,
                report.stillOpen() > 0 ? ", " + report.stillOpen() + " did not close in time" : "");
        return report;
    }
}
