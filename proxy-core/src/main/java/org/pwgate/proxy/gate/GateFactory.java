package org.pwgate.proxy.gate;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.session.SessionState;

/**
 * Makes the gate of each new session. {@code config} is read live, so that a reload that turns
 * {@code rds.restrict_password_commands} on or off applies to statements that start afterwards,
 * in sessions already open.
 */
public final class GateFactory {
    private final Supplier<PwgateConfig> config;
    private final AuditLog audit;
    /**
     * Analyses long texts off the event loops: one thread per two cores, as many as event loops
     * by default, idle threads let go after a minute. Its queue is bounded by the sessions: each
     * has at most one text in analysis, and reads nothing more from its client meanwhile.
     */
    private final Executor analysis;

    /** With meters of its own (for tests that do not look at them). */
    public GateFactory(Supplier<PwgateConfig> config) {
        this(config, new PwgateMetrics());
    }

    public GateFactory(Supplier<PwgateConfig> config, PwgateMetrics metrics) {
        this.config = config;
        this.audit = new AuditLog(Clock.systemUTC(), metrics);
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), new DefaultThreadFactory("pwgate-analysis", true));
        pool.allowCoreThreadTimeOut(true);
        this.analysis = task -> pool.execute(() -> {
            long start = System.nanoTime();
            try {
                task.run();
            } finally {
                metrics.analysedAhead(System.nanoTime() - start);
            }
        });
    }

    /**
     * The gate of one session. It is always the password-command gate, even while the restriction
     * is off: it then passes every frame unchanged but keeps track of the protocol, so that a
     * reload turning the restriction on applies safely to the statements that start afterwards.
     */
    public SessionGate forSession(SessionState session) {
        return new PasswordCommandGate(config, session, StatementClassifier.POSTGRES, audit, analysis);
    }
}
