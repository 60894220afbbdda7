package org.pwgate.proxy.cancel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;

class CancelRegistryTest {
    private final CancelRegistry registry = new CancelRegistry(new SecureRandom());
    private final InetSocketAddress backend = new InetSocketAddress("127.0.0.1", 5432);

    @Test
    void mapsPwgateKeysToTheBackendsRealKey() {
        BackendKeyData real = new BackendKeyData(4242, 99);
        BackendKeyData mine = registry.register(new CancelRegistry.Target(backend, real));
        assertNotEquals(real, mine);
        assertTrue(mine.processId() > 0);
        assertEquals(Optional.of(new CancelRegistry.Target(backend, real)), registry.lookup(mine.processId(), mine.secretKey()));
    }

    @Test
    void wrongSecretOrUnregisteredKeyFindsNothing() {
        BackendKeyData mine = registry.register(new CancelRegistry.Target(backend, new BackendKeyData(1, 2)));
        assertEquals(Optional.empty(), registry.lookup(mine.processId(), mine.secretKey() + 1));
        registry.unregister(mine);
        assertEquals(Optional.empty(), registry.lookup(mine.processId(), mine.secretKey()));
        assertEquals(0, registry.size());
    }

    @Test
    void keysAreDistinct() {
        Set<BackendKeyData> keys = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            keys.add(registry.register(new CancelRegistry.Target(backend, new BackendKeyData(i, i))));
        }
        assertEquals(1000, keys.size());
        assertEquals(1000, registry.size());
    }
}
