package org.pwgate.proxy.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pwgate.auth.FailedLoginThrottle;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.logging.LoggingConfigurator;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.metrics.PwgateMetrics.Reload;
import org.slf4j.LoggerFactory;

class ConfigReloaderTest {
    @TempDir
    Path dir;
    Path file;
    AtomicReference<PwgateConfig> current;
    FailedLoginThrottle throttle;
    final LoggerContext privateLogging = new LoggerContext();
    final PwgateMetrics metrics = new PwgateMetrics();
    final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    ConfigReloader reloader;

    static String yaml(int port, String restrict, int throttleLimit, String extra) {
        return """
                listen: { host: 127.0.0.1, port: %d }
                backend: { host: 127.0.0.1, port: 5432 }
                auth: { source: auth_query, auth_user: pwgate_auth }
                limits:
                  failed_login: { limit: %d, window: 60s, delay: 1s }
                parameters:
                  rds.restrict_password_commands: %s
                """.formatted(port, throttleLimit, restrict) + extra;
    }

    @BeforeEach
    void start() throws Exception {
        privateLogging.setMDCAdapter(new ch.qos.logback.classic.util.LogbackMDCAdapter());
        privateLogging.start();
        file = dir.resolve("pwgate.yaml");
        Files.writeString(file, yaml(6432, "0", 5, ""));
        PwgateConfig initial = ConfigLoader.load(file);
        current = new AtomicReference<>(initial);
        throttle = new FailedLoginThrottle(initial.limits().throttle());
        reloader = new ConfigReloader(file, current, throttle, new LoggingConfigurator(privateLogging), metrics);
        Logger reloaderLog = (Logger) LoggerFactory.getLogger(ConfigReloader.class);
        logged.start();
        reloaderLog.addAppender(logged);
    }

    @AfterEach
    void stop() {
        reloader.close();
        ((Logger) LoggerFactory.getLogger(ConfigReloader.class)).detachAppender(logged);
        metrics.close();
        privateLogging.stop();
    }

    List<String> warnings() {
        return logged.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
    }

    double reloads(Reload outcome) {
        return metrics.registry().get("pwgate.config.reloads").tag("outcome", outcome.name().toLowerCase())
                .counter().count();
    }

    static void await(BooleanSupplier condition, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + max);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aValidChangeIsPublishedWithTheThrottleAndLogLevels() throws Exception {
        Files.writeString(file, yaml(6432, "on", 1, """
                logging:
                  levels: { root: info, org.pwgate: debug }
                """));
        ConfigReloader.Result r = reloader.reloadNow();

        assertEquals(Reload.APPLIED, r.outcome());
        assertSame(r.published(), current.get());
        assertTrue(current.get().parameters().restrictPasswordCommands());
        assertEquals(List.of("parameters", "limits", "logging.levels"), r.appliedKeys());
        assertEquals(List.of(), r.restartKeys());
        // The throttle now delays from the second failure on (limit 1).
        assertEquals(Duration.ZERO, throttle.recordFailure("app", "127.0.0.9"));
        assertEquals(Duration.ofSeconds(1), throttle.recordFailure("app", "127.0.0.9"));
        assertEquals(Level.DEBUG, privateLogging.getLogger("org.pwgate").getLevel());
        assertEquals(1, reloads(Reload.APPLIED));
        assertTrue(logged.list.stream().anyMatch(e -> e.getFormattedMessage()
                .equals("rds.restrict_password_commands is now on for every statement that starts from now on")));
    }

    @Test
    void anInvalidFileIsLoggedErrorByErrorAndTheRunningConfigStays() throws Exception {
        PwgateConfig before = current.get();
        Files.writeString(file, """
                listen: { host: 127.0.0.1, port: 6432 }
                backend: { host: 127.0.0.1, port: 5432 }
                auth: { source: auth_query, auth_user: pwgate_auth }
                parameters:
                  rds.restrict_password_commands: maybe
                limits: { auth_timeout: 15 }
                """);
        ConfigReloader.Result r = reloader.reloadNow();

        assertEquals(Reload.INVALID, r.outcome());
        assertSame(before, current.get());
        assertEquals(2, r.errors().size(), r.errors().toString());
        List<String> w = warnings();
        assertTrue(w.get(0).contains("is invalid; the running configuration stays"), w.toString());
        assertTrue(w.stream().anyMatch(m -> m.startsWith("config reload: line 5: parameters.rds.restrict_password_commands")),
                w.toString());
        assertTrue(w.stream().anyMatch(m -> m.startsWith("config reload: line 6: limits.auth_timeout")), w.toString());
        assertEquals(1, reloads(Reload.INVALID));
        assertEquals(0, reloads(Reload.APPLIED));
    }

    @Test
    void restartOnlyChangesAreReportedAndKeepTheirRunningValues() throws Exception {
        Files.writeString(file, yaml(7777, "0", 5, """
                logging: { format: json }
                """));
        ConfigReloader.Result r = reloader.reloadNow();
        assertEquals(Reload.UNCHANGED, r.outcome());
        assertEquals(List.of("listen", "logging.format"), r.restartKeys());
        assertEquals(6432, current.get().listen().port());
        assertTrue(warnings().contains(
                "config reload (requested): listen, logging.format changed and needs a restart; not applied, the running values stay"),
                warnings().toString());

        // With a live change alongside, only the live part is published.
        Files.writeString(file, yaml(7777, "1", 5, """
                logging: { format: json }
                """));
        r = reloader.reloadNow();
        assertEquals(Reload.APPLIED, r.outcome());
        assertTrue(current.get().parameters().restrictPasswordCommands());
        assertEquals(6432, current.get().listen().port());
        assertEquals(PwgateConfig.LogFormat.TEXT, current.get().logging().format());
        assertEquals(List.of("listen", "logging.format"), r.restartKeys());
    }

    @Test
    void anAuthChangeIsReportedAsNeedingARestart() throws Exception {
        Files.writeString(file, yaml(6432, "1", 5, "").replace("auth_user: pwgate_auth", "auth_user: other_auth"));
        ConfigReloader.Result r = reloader.reloadNow();
        assertEquals(List.of("parameters"), r.appliedKeys());
        assertEquals(List.of("auth"), r.restartKeys());
        assertEquals(java.util.Optional.of("pwgate_auth"), current.get().auth().authUser());
        assertTrue(current.get().parameters().restrictPasswordCommands());
    }

    @Test
    void mergeTakesTheLiveSectionsFromTheFileAndKeepsTheRest() throws Exception {
        PwgateConfig running = current.get();
        PwgateConfig loaded = ConfigLoader.parse(yaml(9999, "1", 3, """
                gate_role: other_gate
                protected_roles: [rdsadmin, dba]
                admin: { host: 127.0.0.1, port: 9187 }
                logging: { format: json, levels: { root: warn }, audit_file: /tmp/audit.jsonl }
                """), dir, running.source());
        PwgateConfig merged = ConfigReloader.merge(running, loaded);
        assertEquals(running.listen(), merged.listen());
        assertEquals(running.backend(), merged.backend());
        assertEquals(running.tls(), merged.tls());
        assertEquals(running.admin(), merged.admin());
        assertEquals(running.bootstrap(), merged.bootstrap());
        assertEquals(running.logging().format(), merged.logging().format());
        assertEquals(running.logging().auditFile(), merged.logging().auditFile());
        assertEquals(loaded.logging().levels(), merged.logging().levels());
        assertEquals(loaded.parameters(), merged.parameters());
        assertEquals(loaded.gateRole(), merged.gateRole());
        assertEquals(loaded.protectedRoles(), merged.protectedRoles());
        assertEquals(loaded.limits(), merged.limits());
        assertEquals(running.auth(), merged.auth(), "the credential source is built at startup");
        assertEquals(List.of(), ConfigLoader.restartRequired(running, merged), "nothing needing a restart is published");
        assertEquals(running, ConfigReloader.merge(running, running));
    }

    @Test
    void aChangedFileIsPickedUpByPolling() throws Exception {
        reloader.start(Duration.ofMillis(100));
        Thread.sleep(300);
        assertEquals(0, reloads(Reload.APPLIED) + reloads(Reload.UNCHANGED), "an unchanged file is not reloaded");
        Files.writeString(file, yaml(6432, "yes", 5, ""));
        await(() -> current.get().parameters().restrictPasswordCommands(), Duration.ofSeconds(5));
        Files.writeString(file, "parameters: [");
        await(() -> reloads(Reload.INVALID) == 1, Duration.ofSeconds(5));
        assertTrue(current.get().parameters().restrictPasswordCommands());
        Files.writeString(file, yaml(6432, "off", 5, ""));
        await(() -> !current.get().parameters().restrictPasswordCommands(), Duration.ofSeconds(5));
        // The config is published before the reload is counted: wait for the count, do not race it.
        await(() -> reloads(Reload.APPLIED) == 2, Duration.ofSeconds(5));
        assertEquals(2, reloads(Reload.APPLIED));
    }

    @Test
    void aDeletedFileKeepsTheRunningConfig() throws Exception {
        PwgateConfig before = current.get();
        Files.delete(file);
        ConfigReloader.Result r = reloader.reloadNow();
        assertEquals(Reload.ERROR, r.outcome());
        assertSame(before, current.get());
        assertEquals(1, reloads(Reload.ERROR));
    }

    @Test
    void sighupReloadsAtOnce() throws Exception {
        reloader.start(Duration.ofHours(1)); // polling out of the way: only the signal can reload
        // Without our handler the JVM would take SIGHUP as a request to exit: never send it then.
        Assumptions.assumeTrue(reloader.signalHandlerInstalled(), "sun.misc.Signal is not available");
        Files.writeString(file, yaml(6432, "true", 5, ""));
        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(ProcessHandle.current().pid())).start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
        await(() -> current.get().parameters().restrictPasswordCommands(), Duration.ofSeconds(5));
        assertTrue(logged.list.stream().anyMatch(e -> e.getFormattedMessage().startsWith("config reload (SIGHUP): applied")));
        assertFalse(warnings().stream().anyMatch(w -> w.contains("SIGHUP cannot")));
    }
}
