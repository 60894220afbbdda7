package org.pwgate.proxy;

import java.net.InetSocketAddress;
import java.util.Optional;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * The composition root: builds pwgate's object graph from a config and runs it.
 *
 * <pre>
 *   start(config): [embedded backend + bootstrap] -> credential source -> bind listener
 *   close():       stop accepting -> close sessions -> stop embedded backend
 * </pre>
 */
public final class ProxyServer implements AutoCloseable {

    /** Starts everything the config asks for; {@code listen.port: 0} binds an ephemeral port. */
    public static ProxyServer start(PwgateConfig config) throws Exception {
        throw new UnsupportedOperationException("implemented by the proxy foundation work");
    }

    /** The address the listener is bound to. */
    public InetSocketAddress localAddress() {
        throw new UnsupportedOperationException();
    }

    /** The PostgreSQL sessions are opened on (the embedded one's when embedded). */
    public InetSocketAddress backendAddress() {
        throw new UnsupportedOperationException();
    }

    public Optional<EmbeddedBackend> embeddedBackend() {
        throw new UnsupportedOperationException();
    }

    /** The config in force now. */
    public PwgateConfig config() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException();
    }
}
