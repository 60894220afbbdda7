package org.pwgate.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.pwgate.auth.AuthFileSource;
import org.pwgate.auth.AuthQuerySource;
import org.pwgate.auth.ClientAuthenticator;
import org.pwgate.auth.Credential;
import org.pwgate.auth.FailedLoginThrottle;
import org.pwgate.auth.CredentialSource;
import org.pwgate.config.PwgateConfig;
import org.pwgate.config.PwgateConfig.AuthSource;
import org.pwgate.proxy.admin.AdminServer;
import org.pwgate.proxy.admin.ReadinessCheck;
import org.pwgate.proxy.admin.ShutdownCoordinator;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.backend.ServiceConnection;
import org.pwgate.proxy.cancel.CancelForwarder;
import org.pwgate.proxy.cancel.CancelRegistry;
import org.pwgate.proxy.embedded.EmbeddedBackend;
import org.pwgate.proxy.embedded.EmbeddedBootstrap;
import org.pwgate.proxy.embedded.RoleBootstrap;
import org.pwgate.proxy.gate.GateFactory;
import org.pwgate.proxy.logging.LoggingConfigurator;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrameEncoder;
import org.pwgate.proxy.reload.ConfigReloader;
import org.pwgate.proxy.startup.LoginThrottle;
import org.pwgate.proxy.startup.StartupHandler;
import org.pwgate.proxy.startup.StartupServices;
import org.pwgate.proxy.tls.BackendTls;
import org.pwgate.proxy.tls.ServerTls;
import org.pwgate.proxy.tls.TlsNegotiationHandler;
import org.pwgate.proxy.tls.TlsProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root: builds pwgate's object graph from a config and runs it.
 *
 * <pre>
 *   start(config): logging -> [embedded backend + bootstrap] -> credential source -> TLS -> bind listener
 *                  -> [admin listener] -> [config reloader]
 *   close():       stop reloading -> drain (stop accepting, let queries finish within drain_time, end the
 *                  rest with 57P01) -> close sessions -> stop embedded backend
 * </pre>
 *
 * Client pipeline: [tlsNegotiation, removed once decided] -> frames (FrameDecoder) -> frameEncoder ->
 * startup (StartupHandler, replaced by the SessionRelay once the session is established).
 */
public final class ProxyServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);
    private static final Duration BOOTSTRAP_TIMEOUT = Duration.ofSeconds(30);
    /** A user name pwgate's bootstrap falls back to when auth_file is used without auth.auth_user. */
    public static final String DEFAULT_AUTH_USER = "rdsadmin";
    private static final Duration TLS_WATCH_INTERVAL = Duration.ofSeconds(2);

    private final AtomicReference<PwgateConfig> config;
    private final EventLoopGroup group;
    private final Channel listener;
    private final ChannelGroup clients;
    private final Optional<EmbeddedBackend> embedded;
    private final java.net.SocketAddress backendAddress;
    private final Optional<ServiceConnection> service;
    private final CredentialSource credentials;
    private final Optional<ServerTls> serverTls;
    private final java.util.concurrent.ScheduledExecutorService tlsWatch;
    private final PwgateMetrics metrics;
    private final ShutdownCoordinator shutdown;
    private final Optional<AdminServer> admin;
    private final Optional<ConfigReloader> reloader;
    private boolean closed;

    private ProxyServer(AtomicReference<PwgateConfig> config, EventLoopGroup group, Channel listener, ChannelGroup clients,
                        Optional<EmbeddedBackend> embedded, java.net.SocketAddress backendAddress,
                        Optional<ServiceConnection> service, CredentialSource credentials,
                        Optional<ServerTls> serverTls, java.util.concurrent.ScheduledExecutorService tlsWatch,
                        PwgateMetrics metrics, ShutdownCoordinator shutdown, Optional<AdminServer> admin,
                        Optional<ConfigReloader> reloader) {
        this.config = config;
        this.group = group;
        this.listener = listener;
        this.clients = clients;
        this.embedded = embedded;
        this.backendAddress = backendAddress;
        this.service = service;
        this.credentials = credentials;
        this.serverTls = serverTls;
        this.tlsWatch = tlsWatch;
        this.metrics = metrics;
        this.shutdown = shutdown;
        this.admin = admin;
        this.reloader = reloader;
    }

    /** Starts everything the config asks for; {@code listen.port: 0} binds an ephemeral port. */
    public static ProxyServer start(PwgateConfig config) throws Exception {
        Optional<LoggingConfigurator> logging = LoggingConfigurator.forProcess();
        logging.ifPresent(l -> l.apply(config.logging()));
        PwgateMetrics metrics = new PwgateMetrics();
        ShutdownCoordinator shutdown = new ShutdownCoordinator();
        FailedLoginThrottle failedLogins = new FailedLoginThrottle(config.limits().throttle());
        Transport transport = Transport.detect();
        log.info("transport: {}, {} event loop(s)", transport.name(), eventLoops(config.listen()));
        EmbeddedBackend embedded = null;
        EventLoopGroup group = null;
        ServiceConnection service = null;
        CredentialSource credentials = null;
        java.util.concurrent.ScheduledExecutorService tlsWatch = null;
        AdminServer admin = null;
        ConfigReloader reloader = null;
        try {
            java.net.SocketAddress backendAddress;
            String backendHost;
            Optional<PwgateConfig.Embedded> embeddedConfig = config.backend().embedded();
            if (embeddedConfig.isPresent()) {
                Optional<java.nio.file.Path> dataDir = embeddedConfig.get().dataDirectory();
                if (dataDir.isPresent()) {
                    EmbeddedBootstrap.prepareRestart(dataDir.get());
                }
                embedded = EmbeddedBackend.start(embeddedConfig.get().version(), dataDir, Map.of(), false);
                backendAddress = new InetSocketAddress(embedded.host(), embedded.port());
                backendHost = embedded.host();
            } else {
                backendAddress = transport.backendAddress(config.backend().host(), config.backend().port());
                backendHost = config.backend().host();
                log.info("backend: {}", Transport.describe(backendAddress));
            }
            group = transport.newGroup(eventLoops(config.listen()), "pwgate");
            AtomicReference<PwgateConfig> current = new AtomicReference<>(config);
            // TLS is set up only when asked for: loading OpenSSL costs start-up time.
            boolean clientTls = config.tls().mode() != PwgateConfig.ClientTlsMode.DISABLE;
            boolean anyTls = clientTls || config.backend().tls() != PwgateConfig.BackendTlsMode.DISABLE;
            TlsProvider tlsProvider = anyTls ? TlsProvider.detect() : null;
            Optional<ServerTls> serverTls = clientTls ? Optional.of(ServerTls.load(config.tls(), tlsProvider)) : Optional.empty();
            BackendTls backendTls = BackendTls.forConfig(config.backend(), backendHost, tlsProvider);
            if (serverTls.isPresent()) {
                // Certificate files are re-read off the event loops; a broken new file keeps the old one.
                tlsWatch = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "pwgate-tls-watch");
                    t.setDaemon(true);
                    return t;
                });
                serverTls.get().watch(tlsWatch, TLS_WATCH_INTERVAL);
            }
            BackendConnector connector = new BackendConnector(transport, backendAddress, config.backend().connectTimeout(), backendTls);

            String authUser = config.auth().authUser().orElse(DEFAULT_AUTH_USER);
            String authDatabase = config.auth().authDatabase().orElse("postgres");
            Optional<String> authMd5 = config.auth().authPassword().map(p -> RoleBootstrap.md5Of(p, authUser));
            if (config.auth().source() == AuthSource.AUTH_FILE) {
                credentials = new AuthFileSource(config.auth().authFile().orElseThrow());
                if (authMd5.isEmpty() && (embedded != null || config.bootstrap().isPresent())) {
                    // With auth_file and no auth_password, the auth user's hash comes from the file.
                    authMd5 = credentials.lookup(authUser).toCompletableFuture().get(10, TimeUnit.SECONDS)
                            .flatMap(Credential::storedPassword);
                }
            }
            if (config.auth().authUser().isPresent() || embedded != null || config.bootstrap().isPresent()) {
                service = new ServiceConnection(connector, group.next(), authUser, authDatabase, authMd5);
            }
            if (config.auth().source() == AuthSource.AUTH_QUERY) {
                credentials = new AuthQuerySource(service, config.auth().authQuery());
            }
            if (embedded != null) {
                if (authMd5.isEmpty()) {
                    throw new IllegalStateException("the embedded backend needs a password for its superuser \"" + authUser
                            + "\": set auth.auth_password (or give that user a line in the auth_file)");
                }
                EmbeddedBootstrap boot = new EmbeddedBootstrap(connector, group.next(), BOOTSTRAP_TIMEOUT);
                boot.takeOver(authUser, authMd5.get());
                new RoleBootstrap(service, BOOTSTRAP_TIMEOUT).run(config.gateRole(), config.bootstrap());
                Optional<String> master = config.bootstrap().flatMap(PwgateConfig.Bootstrap::masterUser);
                if (master.isPresent()) {
                    boot.giveDefaultDatabaseTo(master.get(), service);
                }
                boot.requireMd5(embedded, service);
                log.info("embedded PostgreSQL {} on {}:{}, data in {}, server log in {}", embedded.version(), embedded.host(),
                        embedded.port(), embedded.dataDirectory().map(Object::toString).orElse("a temporary folder"),
                        embedded.dataDirectory().map(d -> d.resolve("log").toString()).orElse("its log folder"));
            } else if (config.bootstrap().isPresent()) {
                new RoleBootstrap(service, BOOTSTRAP_TIMEOUT).run(config.gateRole(), config.bootstrap());
            }
            if (embedded == null && service != null) {
                checkBackendSetup(service, config.gateRole());
            }

            ChannelGroup clients = new DefaultChannelGroup("pwgate-clients", GlobalEventExecutor.INSTANCE);
            SecureRandom random = new SecureRandom();
            StartupServices services = new StartupServices(current::get, credentials, new ClientAuthenticator(random),
                    connector, new CancelRegistry(random), new CancelForwarder(transport, config.backend().connectTimeout(), backendTls),
                    new GateFactory(current::get, metrics), throttle(failedLogins),
                    Clock.systemUTC(), metrics, shutdown, serverTls);
            Channel listener = bind(transport, group, config, services, clients);
            if (config.admin().isPresent()) {
                admin = AdminServer.start(config.admin().get(), transport, group, metrics,
                        new ReadinessCheck(transport, group, backendAddress, config.backend().connectTimeout(), credentials));
            }
            if (config.source().isPresent()) {
                reloader = new ConfigReloader(config.source().get(), current, failedLogins, logging.orElse(null), metrics,
                        () -> serverTls.ifPresent(ServerTls::reload)).start();
            }
            ProxyServer server = new ProxyServer(current, group, listener, clients, Optional.ofNullable(embedded),
                    backendAddress, Optional.ofNullable(service), credentials, serverTls, tlsWatch, metrics, shutdown,
                    Optional.ofNullable(admin), Optional.ofNullable(reloader));
            server.logConnectHints();
            return server;
        } catch (Exception | Error e) {
            if (reloader != null) {
                reloader.close();
            }
            if (admin != null) {
                admin.close();
            }
            if (tlsWatch != null) {
                tlsWatch.shutdownNow();
            }
            if (credentials != null) {
                credentials.close();
            }
            if (service != null) {
                service.close();
            }
            if (group != null) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            if (embedded != null) {
                embedded.close();
            }
            metrics.close();
            throw e;
        }
    }

    /** The auth module's throttle, keyed by the client's IP address (not its port). */
    private static LoginThrottle throttle(FailedLoginThrottle throttle) {
        return new LoginThrottle() {
            @Override
            public Duration onFailure(String user, java.net.SocketAddress client) {
                return throttle.recordFailure(user, hostOf(client));
            }

            @Override
            public void onSuccess(String user, java.net.SocketAddress client) {
                throttle.recordSuccess(user, hostOf(client));
            }
        };
    }

    private static String hostOf(java.net.SocketAddress address) {
        return address instanceof InetSocketAddress inet && inet.getAddress() != null
                ? inet.getAddress().getHostAddress() : String.valueOf(address);
    }

    /** Settings of log_min_error_statement at which PostgreSQL logs the text of a statement failing with ERROR. */
    private static final Set<String> LOGS_FAILED_STATEMENTS = Set.of(
            "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error");

    /**
     * Two things about an external backend that pwgate cannot set itself, checked once, in the
     * background (a backend that is not up yet is readiness's business, not start-up's):
     * <ul>
     *   <li>a password statement the gate refuses fails with its password in the text, which
     *       PostgreSQL logs as {@code STATEMENT:} unless log_min_error_statement is above ERROR,
     *       and only a superuser can set that;</li>
     *   <li>without the gate role the guard refuses every password command to everyone, superusers
     *       included (it fails closed), and a client session may not create the role.</li>
     * </ul>
     */
    private static void checkBackendSetup(ServiceConnection service, String gateRole) {
        service.query("SELECT pg_catalog.current_setting('log_min_error_statement'),"
                        + " EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1)::text",
                        List.of(gateRole))
                .whenComplete((rows, e) -> {
                    if (e != null || rows.isEmpty()) {
                        return;
                    }
                    String level = rows.get(0).get(0).orElse("");
                    if (LOGS_FAILED_STATEMENTS.contains(level)) {
                        log.warn("the backend logs the text of statements that fail (log_min_error_statement = {}), and a"
                                + " password statement the gate refuses holds its password: set log_min_error_statement"
                                + " = panic on the backend (see the README)", level);
                    }
                    if (!rows.get(0).get(1).orElse("").startsWith("t")) {
                        log.warn("the gate role \"{}\" does not exist on the backend: with rds.restrict_password_commands on,"
                                + " every password command is refused to everyone until it is created (as a superuser,"
                                + " directly on the backend, or by pwgate's bootstrap section)", gateRole);
                    }
                });
    }

    private static Channel bind(Transport transport, EventLoopGroup group, PwgateConfig config, StartupServices services,
                                ChannelGroup clients) throws InterruptedException, IOException {
        AtomicLong connectionIds = new AtomicLong();
        AtomicInteger open = new AtomicInteger();
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, Transport.WATER_MARK)
                .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        PwgateConfig now = services.config().get();
                        // Counted at accept, released at close; the refusal itself waits for the
                        // StartupMessage, as PostgreSQL's does, so that SSLRequest still gets its 'N'.
                        boolean over = open.incrementAndGet() > now.limits().maxClientConnections();
                        services.metrics().clientAccepted();
                        ch.closeFuture().addListener(f -> {
                            open.decrementAndGet();
                            services.metrics().clientClosed();
                        });
                        clients.add(ch);
                        long id = connectionIds.incrementAndGet();
                        FrameDecoder decoder = FrameDecoder.forClient(now.limits().maxMessageSize());
                        if (services.serverTls().isPresent()) {
                            ch.pipeline().addLast("tlsNegotiation", new TlsNegotiationHandler(services.serverTls(), "c" + id));
                        }
                        ch.pipeline().addLast("frames", decoder);
                        ch.pipeline().addLast("frameEncoder", new FrameEncoder());
                        ch.pipeline().addLast("startup", new StartupHandler(services, decoder, id, over));
                    }
                });
        try {
            return b.bind(config.listen().host(), config.listen().port()).sync().channel();
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) { // sync() also rethrows the bind's own IOException, undeclared
            throw new IOException("cannot listen on " + config.listen().host() + ":" + config.listen().port()
                    + " (listen.port): " + e.getMessage(), e);
        }
    }

    private void logConnectHints() {
        InetSocketAddress at = localAddress();
        String host = at.getAddress().isAnyLocalAddress() ? "127.0.0.1" : at.getHostString();
        log.info("pwgate listening on {}:{}", host, at.getPort());
        config.get().bootstrap().ifPresent(b -> {
            b.masterUser().ifPresent(u -> log.info("connect: psql \"host={} port={} user={} dbname=postgres\"", host, at.getPort(), u));
            b.users().forEach(u -> log.info("connect: psql \"host={} port={} user={} dbname=postgres\"", host, at.getPort(), u.name()));
            log.info("demo passwords: see README");
        });
    }

    /** The address the listener is bound to. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The PostgreSQL sessions are opened on (the embedded one's when embedded): host and port, or a Unix-domain socket. */
    public java.net.SocketAddress backendAddress() {
        return backendAddress;
    }

    public Optional<EmbeddedBackend> embeddedBackend() {
        return embedded;
    }

    /** pwgate's meters (also served on the admin listener's /metrics). */
    public PwgateMetrics metrics() {
        return metrics;
    }

    /** The admin HTTP listener's address, when one is configured. */
    public Optional<InetSocketAddress> adminAddress() {
        return admin.map(AdminServer::localAddress);
    }

    /** Re-reads the client-side certificate and key now (SIGHUP); false when a new file was broken. */
    public boolean reloadTls() {
        return serverTls.map(ServerTls::reload).orElse(true);
    }

    /** The config in force now. */
    public PwgateConfig config() {
        return config.get();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        reloader.ifPresent(ConfigReloader::close);
        try {
            shutdown.drain(config.get().limits().drainTime(), () -> {
                admin.ifPresent(AdminServer::startDraining);
                listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        admin.ifPresent(AdminServer::close);
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        if (tlsWatch != null) {
            tlsWatch.shutdownNow();
        }
        clients.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        credentials.close();
        service.ifPresent(ServiceConnection::close);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        embedded.ifPresent(EmbeddedBackend::close);
        metrics.close();
        log.info("pwgate stopped");
    }

    /**
     * Event-loop threads: as configured, else half the cores, at least one. A relay's work is
     * mostly system calls; fewer loops each find more sockets ready per epoll_wait and are
     * switched out less, and a proxy that shares its machine with the database or the
     * application leaves the other cores to them. On 2 cores one loop cut pwgate's CPU per
     * transaction by a third against Netty's default of two loops per core (bench/RESULTS.md).
     */
    static int eventLoops(PwgateConfig.Listen listen) {
        return listen.threads() > 0 ? listen.threads() : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }
}
