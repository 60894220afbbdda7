package org.pwgate.it.support;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.pwgate.proxy.LeakCheck;

/**
 * Registered for every integration test class (junit-platform.properties turns on extension
 * autodetection): a Netty buffer leak in the in-process pwgate fails the class in which it is
 * noticed, so an end-to-end run is also a leak hunt under PARANOID detection.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
        if (!LeakCheck.install()) {
            throw new IllegalStateException("Netty leak checking is not active: run the tests with -D" + LeakCheck.PROPERTY
                    + "=org.pwgate.proxy.LeakReportingDetector and -Dio.netty.leakDetection.level=paranoid");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        LeakCheck.assertNoLeaks();
    }
}
