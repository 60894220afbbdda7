package org.pwgate.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pwgate.config.PwgateConfig.Listen;

class EventLoopsTest {

    @Test
    void configuredThreadsAreUsed() {
        assertEquals(3, ProxyServer.eventLoops(new Listen("127.0.0.1", 0, 3)));
    }

    @Test
    void automaticIsHalfTheCoresAndAtLeastOne() {
        int cores = Runtime.getRuntime().availableProcessors();
        assertEquals(Math.max(1, cores / 2), ProxyServer.eventLoops(new Listen("127.0.0.1", 0)));
    }
}
