package org.pwgate.proxy;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.atomic.AtomicInteger;

/** Unpooled heap buffers that record the largest capacity asked for: for tests of what input makes pwgate reserve. */
public final class RecordingAllocator extends AbstractByteBufAllocator {
    private final AtomicInteger largest = new AtomicInteger();
    private final int failAbove;

    public RecordingAllocator() {
        this(Integer.MAX_VALUE);
    }

    private RecordingAllocator(int failAbove) {
        super(false);
        this.failAbove = failAbove;
    }

    /** One that throws OutOfMemoryError for buffers above {@code bytes}, as Netty does at the direct-memory limit. */
    public static RecordingAllocator failingAbove(int bytes) {
        return new RecordingAllocator(bytes);
    }

    /** The largest initial capacity asked for so far. */
    public int largest() {
        return largest.get();
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        largest.accumulateAndGet(initialCapacity, Math::max);
        if (initialCapacity > failAbove) {
            throw new OutOfMemoryError("Cannot reserve " + initialCapacity + " bytes of direct buffer memory");
        }
        return Unpooled.buffer(initialCapacity, maxCapacity);
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return newHeapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }
}
