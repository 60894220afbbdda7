package org.pwgate.proxy.cancel;

import java.net.SocketAddress;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;

/**
 * Maps the cancel keys pwgate hands to clients onto the backend's real keys. Clients only ever see
 * pwgate's key (random, from SecureRandom), so a client cannot cancel another backend's query by
 * guessing PostgreSQL's pids. Shared by every event loop, hence a concurrent map.
 */
public final class CancelRegistry {

    /**
     * Where a cancel goes: the backend's address and its own key for the session, and the session's
     * say in it: {@code onCancel} gets the request and forwards it now, later, or settles it when
     * the session answers the cancel itself (called on the thread that took the request).
     */
    public record Target(SocketAddress backend, BackendKeyData backendKey, Consumer<Cancel> onCancel) {
        private static final Consumer<Cancel> FORWARD_NOW = Cancel::forward;

        /** A session that has the cancel forwarded at once. */
        public Target(SocketAddress backend, BackendKeyData backendKey) {
            this(backend, backendKey, FORWARD_NOW);
        }
    }

    private final SecureRandom random;
    private final ConcurrentMap<Long, Target> targets = new ConcurrentHashMap<>();

    public CancelRegistry(SecureRandom random) {
        this.random = random;
    }

    /** Registers a session and returns the key to give its client. */
    public BackendKeyData register(Target target) {
        while (true) {
            // A positive pid, as clients expect of a process id.
            int pid = random.nextInt(Integer.MAX_VALUE - 1) + 1;
            int secret = random.nextInt();
            if (targets.putIfAbsent(pack(pid, secret), target) == null) {
                return new BackendKeyData(pid, secret);
            }
        }
    }

    public Optional<Target> lookup(int processId, int secretKey) {
        return Optional.ofNullable(targets.get(pack(processId, secretKey)));
    }

    public void unregister(BackendKeyData key) {
        targets.remove(pack(key.processId(), key.secretKey()));
    }

    public int size() {
        return targets.size();
    }

    private static long pack(int pid, int secret) {
        return ((long) pid << 32) | (secret & 0xFFFFFFFFL);
    }
}
