package org.pwgate.proxy;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered for every test class of proxy-core and of the integration tests (their
 * junit-platform.properties turn on extension autodetection): a Netty buffer leak anywhere in a
 * class, the in-process proxy included, fails that class.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        if (!LeakCheck.install()) {
            throw new IllegalStateException("Netty leak checking is not active: run tests with -D" + LeakCheck.PROPERTY
                    + "=" + LeakReportingDetector.class.getName() + " and -Dio.netty.leakDetection.level=paranoid");
        }
        // No drain here: a leak noticed only after the previous class ended must still fail a class.
    }

    @Override
    public void afterAll(ExtensionContext context) {
        LeakCheck.assertNoLeaks();
    }
}
