package org.pwgate.it.support;

import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import org.pwgate.proxy.Transport;

/** What the allocator of pwgate's channels holds, for tests of how much pwgate buffers. */
public final class BufferMemory {
    private BufferMemory() {}

    /**
     * Heap and direct bytes held by {@link Transport#ALLOCATOR}, the allocator every channel of
     * the in-process pwgate uses (Netty 4.2's adaptive allocator unless configured otherwise; not
     * {@code PooledByteBufAllocator.DEFAULT}, whose figures would not move).
     */
    public static long used() {
        ByteBufAllocatorMetric m = ((ByteBufAllocatorMetricProvider) Transport.ALLOCATOR).metric();
        return m.usedDirectMemory() + m.usedHeapMemory();
    }
}
