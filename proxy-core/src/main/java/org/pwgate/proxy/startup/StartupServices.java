package org.pwgate.proxy.startup;

import java.time.Clock;
import java.util.Optional;
import java.util.function.Supplier;
import org.pwgate.auth.ClientAuthenticator;
import org.pwgate.auth.CredentialSource;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.admin.ShutdownCoordinator;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.cancel.CancelForwarder;
import org.pwgate.proxy.cancel.CancelRegistry;
import org.pwgate.proxy.gate.GateFactory;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.tls.ServerTls;

/** What every client connection's startup needs; built once by the composition root. */
public record StartupServices(
        Supplier<PwgateConfig> config,
        CredentialSource credentials,
        ClientAuthenticator authenticator,
        BackendConnector backend,
        CancelRegistry cancelRegistry,
        CancelForwarder cancelForwarder,
        GateFactory gates,
        LoginThrottle throttle,
        Clock clock,
        PwgateMetrics metrics,
        ShutdownCoordinator shutdown,
        Optional<ServerTls> serverTls) {

    /** Without client-side TLS. */
    public StartupServices(Supplier<PwgateConfig> config, CredentialSource credentials, ClientAuthenticator authenticator,
                           BackendConnector backend, CancelRegistry cancelRegistry, CancelForwarder cancelForwarder,
                           GateFactory gates, LoginThrottle throttle, Clock clock, PwgateMetrics metrics,
                           ShutdownCoordinator shutdown) {
        this(config, credentials, authenticator, backend, cancelRegistry, cancelForwarder, gates, throttle, clock, metrics,
                shutdown, Optional.empty());
    }

    /** Without client-side TLS, with meters and a shutdown coordinator of its own (for handler tests). */
    public StartupServices(Supplier<PwgateConfig> config, CredentialSource credentials, ClientAuthenticator authenticator,
                           BackendConnector backend, CancelRegistry cancelRegistry, CancelForwarder cancelForwarder,
                           GateFactory gates, LoginThrottle throttle, Clock clock) {
        this(config, credentials, authenticator, backend, cancelRegistry, cancelForwarder, gates, throttle, clock,
                new PwgateMetrics(), new ShutdownCoordinator());
    }
}
