package org.pwgate.proxy.fuzz;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fuzz classes refuse thousands of connections on purpose; pwgate logs each refusal at INFO.
 * This keeps the build log readable by raising org.pwgate to WARN for the class, and restores it.
 */
final class QuietLogs implements BeforeAllCallback, AfterAllCallback {
    private Level before;

    @Override
    public void beforeAll(ExtensionContext context) {
        Logger l = (Logger) LoggerFactory.getLogger("org.pwgate");
        before = l.getLevel();
        l.setLevel(Level.WARN);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        ((Logger) LoggerFactory.getLogger("org.pwgate")).setLevel(before);
    }
}
