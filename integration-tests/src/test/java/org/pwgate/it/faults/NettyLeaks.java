package org.pwgate.it.faults;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.pwgate.proxy.LeakCheck;
import org.slf4j.LoggerFactory;

/**
 * Fails a test on a Netty buffer leak in the in-process pwgate. Two routes, because failsafe runs
 * every IT class in one JVM: {@link LeakCheck} only sees leaks when its detector was installed
 * before the first ByteBuf class was loaded (the IT argLine does not set its property), while
 * Netty's own detector always logs "LEAK:" through SLF4J when the level is PARANOID (set for all
 * tests by the parent POM). This collects both.
 */
final class NettyLeaks {
    private static final ConcurrentLinkedQueue<String> LOGGED = new ConcurrentLinkedQueue<>();
    private static boolean installed;

    private NettyLeaks() {}

    static synchronized void install() {
        LeakCheck.install();
        if (installed) {
            return;
        }
        installed = true;
        Logger netty = (Logger) LoggerFactory.getLogger("io.netty.util.ResourceLeakDetector");
        AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                if (e.getFormattedMessage().contains("LEAK")) {
                    LOGGED.add(e.getFormattedMessage());
                }
            }
        };
        appender.setContext(netty.getLoggerContext());
        appender.setName("pwgate-it-leaks");
        appender.start();
        netty.addAppender(appender);
        LOGGED.clear();
        LeakCheck.drain();
    }

    /** Forces collection, then fails with every leak reported since {@link #install()} or the last call. */
    static void assertNoLeaks() {
        List<String> leaks = new ArrayList<>();
        try {
            LeakCheck.assertNoLeaks(); // GC rounds and allocations: that is when Netty reports
        } catch (AssertionError e) {
            leaks.add(e.getMessage());
        }
        String s;
        while ((s = LOGGED.poll()) != null) {
            leaks.add(s);
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty buffer leak(s) in pwgate:\n" + String.join("\n\n", leaks));
        }
    }
}
