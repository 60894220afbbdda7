package org.pwgate.proxy;

import io.netty.util.ResourceLeakDetector;

/**
 * Netty's leak detector, plus a copy of each report for {@link LeakCheck}. Public, with this
 * constructors, because Netty instantiates it by the name given in
 * {@code -Dio.netty.customResourceLeakDetector}.
 */
public final class LeakReportingDetector<T> extends ResourceLeakDetector<T> {
    public LeakReportingDetector(Class<?> resourceType, int samplingInterval) {
        super(resourceType, samplingInterval);
    }

    @SuppressWarnings("deprecation")
    public LeakReportingDetector(Class<?> resourceType, int samplingInterval, long maxActive) {
        super(resourceType, samplingInterval, maxActive);
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
        LeakCheck.record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected." + records);
        super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
        LeakCheck.record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected (no records).");
        super.reportUntracedLeak(resourceType);
    }
}
