package org.pwgate.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Makes a Netty buffer leak fail a test instead of only printing "LEAK:".
 *
 * <p>How: Netty creates its leak detectors through {@link ResourceLeakDetectorFactory}; the
 * system property {@code io.netty.customResourceLeakDetector} (or {@link #install()}, if it runs
 * before the first ByteBuf class is loaded) makes it create {@link LeakReportingDetector}, which records every
 * leak report here as well as logging it. Netty only reports a leak when a tracked object has
 * been garbage-collected and a later allocation polls the reference queue, so
 * {@link #assertNoLeaks()} forces a few GC rounds and allocations before it looks.
 *
 * <p>Use it with the leak detector at PARANOID ({@code -Dio.netty.leakDetection.level=paranoid},
 * as the build sets for tests); proxy-core's tests use it through a JUnit extension, and the
 * integration tests may call it the same way (needs the system property in their argLine or an
 * early {@link #install()}).
 *
 * <p>The one piece of static mutable state in pwgate: Netty instantiates detectors reflectively,
 * by class name, so the reports can only meet the test through a static queue.
 */
public final class LeakCheck {
    public static final String PROPERTY = "io.netty.customResourceLeakDetector";
    private static final ConcurrentLinkedQueue<String> LEAKS = new ConcurrentLinkedQueue<>();

    private LeakCheck() {}

    static void record(String report) {
        LEAKS.add(report);
    }

    /**
     * Installs {@link LeakReportingDetector} for detectors created from now on; call it before any ByteBuf is
     * used (the property is the reliable route). Returns false when buffers were already in use
     * with a detector of another kind, i.e. when checking would silently not work.
     */
    public static boolean install() {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, LeakReportingDetector.class.getName());
        }
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new ResourceLeakDetectorFactory() {
            @Override
            public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
                return new LeakReportingDetector<>(resource, samplingInterval, maxActive);
            }
        });
        return isActive();
    }

    /** True when ByteBuf leaks are reported to this class. */
    public static boolean isActive() {
        return LeakReportingDetector.class.getName().equals(System.getProperty(PROPERTY))
                && ResourceLeakDetector.getLevel().ordinal() > ResourceLeakDetector.Level.DISABLED.ordinal();
    }

    /** Forces collection and leak reporting, then fails with every leak seen since the last call. */
    public static void assertNoLeaks() {
        for (int round = 0; round < 3; round++) {
            System.gc();
            System.runFinalization();
            // Reports happen on allocation: the detector polls its reference queue when it tracks a new buffer.
            for (int i = 0; i < 32; i++) {
                ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
                a.release();
                ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
                b.release();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<String> leaks = drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " Netty buffer leak(s):\n" + String.join("\n\n", leaks));
        }
    }

    /** The leaks reported since the last call, and forgets them. */
    public static List<String> drain() {
        List<String> out = new ArrayList<>();
        String s;
        while ((s = LEAKS.poll()) != null) {
            out.add(s);
        }
        return out;
    }
}
