package org.pwgate.proxy;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

class LeakCheckTest {

    @Test
    void anUnreleasedBufferFailsTheCheck() {
        assertTrue(LeakCheck.isActive(), "the custom leak detector must be installed for tests");
        leakOne();
        AssertionError e = assertThrows(AssertionError.class, LeakCheck::assertNoLeaks);
        assertTrue(e.getMessage().contains("LEAK"), e.getMessage());
    }

    @Test
    void releasedBuffersPass() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.writeInt(1);
        b.release();
        LeakCheck.assertNoLeaks();
    }

    private static void leakOne() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.writeLong(42);
        // dropped without release(): the leak this test is about
    }
}
