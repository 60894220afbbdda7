package org.pwgate.proxy.reload;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.pwgate.auth.FailedLoginThrottle;
import org.pwgate.config.ConfigException;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.logging.LoggingConfigurator;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.metrics.PwgateMetrics.Reload;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the config file on SIGHUP and when its content changes, and publishes what may change
 * live. The running proxy reads the config through the {@link AtomicReference} the composition
 * root owns (the gate reads it per statement), so publishing a new record is all it takes for
 * {@code rds.restrict_password_commands} to apply to every statement that starts afterwards, in
 * every open session.
 *
 * <pre>
 *   SIGHUP, or the file's content changed (polled)   -> reload()
 *   reload: load + validate
 *     invalid      -> WARN each error (line, key), keep the running config      reloads{invalid}
 *     unreadable   -> WARN, keep the running config                              reloads{error}
 *     valid        -> publish merge(running, new); throttle.reconfigure; logging.apply
 *                     restart-only keys that changed: WARN "needs a restart"     reloads{applied|unchanged}
 * </pre>
 *
 * <b>What is published.</b> The record published is the running config with its live sections
 * replaced by the new file's ({@link #merge}): parameters, gate_role, protected_roles, limits and
 * logging.levels come from the file; listen, backend, tls, admin, bootstrap, logging.format and
 * logging.audit_file keep their running values until a restart ({@link ConfigLoader#restartRequired}),
 * and so does auth: ConfigLoader counts it as live, but the credential source and the service
 * connection are built once at startup, so a new auth section would be published without being
 * used. It is reported as needing a restart until the composition root rebuilds them on reload.
 * So {@code config.get()} always describes what the process actually does, and nothing that reads
 * a restart-only setting later (a reconnect, a new listener) picks up a value that was never
 * applied.
 *
 * <p>The file is polled rather than watched: WatchService misses changes on network and overlay
 * filesystems and through the symlink swap Kubernetes uses for mounted ConfigMaps. The content's
 * SHA-256 is the change signal (timestamps can be coarse or preserved by copies); a file caught
 * half-written is read again after a short pause before it counts. All reloads run on one thread,
 * one at a time.
 */
public final class ConfigReloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(2);
    private final Runnable alsoOnSighup;
    private static final long SETTLE_MILLIS = 200;
    /** Live for ConfigLoader, but nothing rebuilds what they configure yet (see the class comment). */
    static final List<String> APPLIED_AT_STARTUP_ONLY = List.of("auth");

    /** What a reload did. {@code published} is the config in force afterwards. */
    public record Result(Reload outcome, PwgateConfig published, List<String> appliedKeys, List<String> restartKeys,
                         List<String> errors) {}

    private final Path file;
    private final AtomicReference<PwgateConfig> current;
    private final FailedLoginThrottle throttle;
    private final LoggingConfigurator logging;
    private final PwgateMetrics metrics;
    private final ScheduledExecutorService executor;
    private byte[] lastSeenDigest;
    private volatile boolean signalInstalled;
    /** The SIGHUP handler that was in place before ours (the JVM's), restored on close. */
    private Object previousHupHandler;

    /**
     * @param current  the config the proxy reads; its value is the running config (loaded from {@code file})
     * @param logging  null when logging is not Logback's (then level changes are not applied)
     */
    public ConfigReloader(Path file, AtomicReference<PwgateConfig> current, FailedLoginThrottle throttle,
                          LoggingConfigurator logging, PwgateMetrics metrics) {
        this(file, current, throttle, logging, metrics, () -> { });
    }

    /**
     * @param alsoOnSighup runs after each SIGHUP reload, on the reload thread: what else an
     *                     operator expects a SIGHUP to re-read (the TLS certificate and key)
     */
    public ConfigReloader(Path file, AtomicReference<PwgateConfig> current, FailedLoginThrottle throttle,
                          LoggingConfigurator logging, PwgateMetrics metrics, Runnable alsoOnSighup) {
        this.alsoOnSighup = alsoOnSighup;
        this.file = file;
        this.current = current;
        this.throttle = throttle;
        this.logging = logging;
        this.metrics = metrics;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pwgate-config-reload");
            t.setDaemon(true);
            return t;
        });
        this.lastSeenDigest = digestOrNull();
    }

    /** Installs the SIGHUP handler and polls the file every {@code pollInterval}. */
    public ConfigReloader start(Duration pollInterval) {
        signalInstalled = installSighup();
        long ms = pollInterval.toMillis();
        executor.scheduleWithFixedDelay(this::poll, ms, ms, TimeUnit.MILLISECONDS);
        return this;
    }

    public ConfigReloader start() {
        return start(DEFAULT_POLL_INTERVAL);
    }

    /** True when SIGHUP triggers a reload on this JVM. */
    public boolean signalHandlerInstalled() {
        return signalInstalled;
    }

    /** Reloads now, on the reload thread, and waits for the result. */
    public Result reloadNow() throws InterruptedException {
        try {
            return executor.submit(() -> reload("requested")).get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("reload failed", e.getCause());
        }
    }

    private void poll() {
        try {
            byte[] digest = digestOrNull();
            if (digest == null || Arrays.equals(digest, lastSeenDigest)) {
                return;
            }
            // An editor or a copy may be writing the file right now: count the change only once
            // the content holds still for a moment.
            Thread.sleep(SETTLE_MILLIS);
            if (!Arrays.equals(digest, digestOrNull())) {
                return;
            }
            reload("file changed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.error("config reload failed unexpectedly: {}", e.toString(), e);
        }
    }

    /** One reload; runs on the reload thread only. */
    private Result reload(String trigger) {
        PwgateConfig running = current.get();
        lastSeenDigest = digestOrNull();
        PwgateConfig loaded;
        try {
            loaded = ConfigLoader.load(file);
        } catch (ConfigException e) {
            List<String> errors = e.errors().stream().map(Object::toString).toList();
            log.warn("config reload ({}): {} is invalid; the running configuration stays", trigger, file);
            for (String error : errors) {
                log.warn("config reload: {}", error);
            }
            metrics.reloaded(Reload.INVALID);
            return new Result(Reload.INVALID, running, List.of(), List.of(), errors);
        } catch (NoSuchFileException e) {
            log.warn("config reload ({}): {} does not exist; the running configuration stays", trigger, file);
            metrics.reloaded(Reload.ERROR);
            return new Result(Reload.ERROR, running, List.of(), List.of(), List.of("no such file: " + file));
        } catch (IOException e) {
            log.warn("config reload ({}): cannot read {}: {}; the running configuration stays", trigger, file, e.toString());
            metrics.reloaded(Reload.ERROR);
            return new Result(Reload.ERROR, running, List.of(), List.of(), List.of(e.toString()));
        }
        List<String> restart = new ArrayList<>(ConfigLoader.restartRequired(running, loaded));
        List<String> live = new ArrayList<>(ConfigLoader.changedLive(running, loaded));
        for (String key : APPLIED_AT_STARTUP_ONLY) {
            if (live.remove(key)) {
                restart.add(key);
            }
        }
        restart = List.copyOf(restart);
        live = List.copyOf(live);
        if (!restart.isEmpty()) {
            log.warn("config reload ({}): {} changed and needs a restart; not applied, the running values stay",
                    trigger, String.join(", ", restart));
        }
        if (live.isEmpty()) {
            log.info("config reload ({}): nothing to apply", trigger);
            metrics.reloaded(Reload.UNCHANGED);
            return new Result(Reload.UNCHANGED, running, List.of(), restart, List.of());
        }
        PwgateConfig published = merge(running, loaded);
        throttle.reconfigure(published.limits().throttle());
        if (logging != null) {
            logging.apply(published.logging());
        }
        current.set(published);
        log.info("config reload ({}): applied {}", trigger, String.join(", ", live));
        if (running.parameters().restrictPasswordCommands() != published.parameters().restrictPasswordCommands()) {
            log.info("{} is now {} for every statement that starts from now on", ConfigLoader.RESTRICT_PASSWORD_COMMANDS,
                    published.parameters().restrictPasswordCommands() ? "on" : "off");
        }
        metrics.reloaded(Reload.APPLIED);
        return new Result(Reload.APPLIED, published, live, restart, List.of());
    }

    /**
     * The running config with the sections that apply live taken from {@code loaded}; the sections
     * that need a restart keep their running values (see the class comment). The record's
     * canonical constructor makes a new component a compile error here, so none is forgotten.
     */
    public static PwgateConfig merge(PwgateConfig running, PwgateConfig loaded) {
        return new PwgateConfig(
                running.listen(),
                running.backend(),
                running.auth(),
                loaded.limits(),
                loaded.parameters(),
                loaded.gateRole(),
                loaded.protectedRoles(),
                running.bootstrap(),
                running.tls(),
                running.admin(),
                new PwgateConfig.Logging(running.logging().format(), loaded.logging().levels(), running.logging().auditFile()),
                running.source());
    }

    private byte[] digestOrNull() {
        try {
            return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * SIGHUP through sun.misc.Signal (module jdk.unsupported), reached reflectively so that a JVM
     * without it, or one that reserves the signal (-Xrs), only loses reload-on-signal: the file is
     * still polled. Without a handler the JVM would treat SIGHUP as a request to exit.
     */
    private boolean installSighup() {
        try {
            Class<?> signalClass = Class.forName("sun.misc.Signal");
            Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
            Object hup = signalClass.getConstructor(String.class).newInstance("HUP");
            InvocationHandler onSignal = (Object proxy, Method method, Object[] args) -> {
                if (method.getName().equals("handle")) {
                    try {
                        executor.execute(() -> {
                            try {
                                reload("SIGHUP");
                                alsoOnSighup.run();
                            } catch (RuntimeException e) {
                                log.error("config reload failed unexpectedly: {}", e.toString(), e);
                            }
                        });
                    } catch (java.util.concurrent.RejectedExecutionException e) {
                        log.info("SIGHUP ignored: pwgate is shutting down");
                    }
                    return null;
                }
                return switch (method.getName()) {
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "pwgate SIGHUP handler";
                    default -> null;
                };
            };
            Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass}, onSignal);
            previousHupHandler = signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, hup, handler);
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
            log.warn("SIGHUP cannot trigger a reload on this JVM ({}); the config file is still watched for changes",
                    cause.toString());
            return false;
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
        if (signalInstalled && previousHupHandler != null) {
            try {
                Class<?> signalClass = Class.forName("sun.misc.Signal");
                Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
                Object hup = signalClass.getConstructor(String.class).newInstance("HUP");
                signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, hup, previousHupHandler);
            } catch (ReflectiveOperationException | RuntimeException e) {
                log.debug("could not restore the SIGHUP handler: {}", e.toString());
            }
            signalInstalled = false;
        }
    }
}
