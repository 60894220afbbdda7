package org.pwgate.proxy.gate;

import java.time.Clock;
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

    /** With meters of its own (for tests that do not look at them). */
    public GateFactory(Supplier<PwgateConfig> config) {
        this(config, new PwgateMetrics());
    }

    public GateFactory(Supplier<PwgateConfig> config, PwgateMetrics metrics) {
        this.config = config;
        this.audit = new AuditLog(Clock.systemUTC(), metrics);
    }

    /**
     * The gate of one session. It is always the password-command gate, even while the restriction
     * is off: it then passes every frame unchanged but keeps track of the protocol, so that a
     * reload turning the restriction on applies safely to the statements that start afterwards.
     */
    public SessionGate forSession(SessionState session) {
        return new PasswordCommandGate(config, session, StatementClassifier.POSTGRES, audit);
    }
}
