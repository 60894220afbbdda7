package org.pwgate.proxy.admin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.pwgate.auth.CredentialSource;
import org.pwgate.proxy.Transport;

/**
 * pwgate is ready when a new client could log in: the backend accepts a connection and the
 * credential source answers. Both checks are asynchronous; nothing blocks an event loop.
 *
 * <p>The backend probe connects and closes without sending a byte: PostgreSQL does not log a
 * connection that sends nothing ("such cases often occur for legitimate reasons"), so frequent
 * probes leave its log clean. It does not log in; the credential source's own check does that
 * for auth_query.
 */
public final class ReadinessCheck implements Supplier<CompletionStage<Readiness>> {
    private final Transport transport;
    private final EventLoopGroup group;
    private final SocketAddress backend;
    private final Duration connectTimeout;
    private final CredentialSource credentials;

    public ReadinessCheck(Transport transport, EventLoopGroup group, SocketAddress backend, Duration connectTimeout,
                          CredentialSource credentials) {
        this.transport = transport;
        this.group = group;
        this.backend = backend;
        this.connectTimeout = connectTimeout;
        this.credentials = credentials;
    }

    @Override
    public CompletionStage<Readiness> get() {
        return backendReachable().thenCompose(backendOk -> backendOk.ready() ? credentialsHealthy()
                : CompletableFuture.completedFuture(backendOk));
    }

    private CompletionStage<Readiness> backendReachable() {
        CompletableFuture<Readiness> result = new CompletableFuture<>();
        String where = Transport.describe(backend);
        try {
            ChannelFuture connect = transport.clientBootstrap(group.next(), connectTimeout, backend)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(backend);
            connect.addListener(f -> {
                if (f.isSuccess()) {
                    Channel ch = connect.channel();
                    ch.close();
                    result.complete(Readiness.up());
                } else {
                    result.complete(Readiness.down("backend " + where + " unreachable: " + describe(f.cause())));
                }
            });
        } catch (RuntimeException e) {
            result.complete(Readiness.down("backend " + where + " unreachable: " + describe(e)));
        }
        return result;
    }

    private CompletionStage<Readiness> credentialsHealthy() {
        CompletionStage<Boolean> healthy;
        try {
            healthy = credentials.healthy();
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(Readiness.down("credential source not answering"));
        }
        // The source's failure text may name its query or file; the probe says only which part failed.
        return healthy.handle((ok, failure) -> failure == null && Boolean.TRUE.equals(ok)
                ? Readiness.up() : Readiness.down("credential source not answering"));
    }

    /** The exception's kind and a short message, which for a connect failure is errno text and the address. */
    private static String describe(Throwable t) {
        String m = t.getMessage();
        String kind = t.getClass().getSimpleName();
        return m == null ? kind : kind + ": " + m.replace('\n', ' ');
    }
}
