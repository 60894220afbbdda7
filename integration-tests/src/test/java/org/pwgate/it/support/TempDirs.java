package org.pwgate.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Temporary folders for the integration tests, deleted with everything in them when the test JVM
 * ends: configurations, certificates, PostgreSQL data directories (40 MB each). Kept only with
 * {@code -Dpwgate.it.keepTemp=true}, to look at after a failed run.
 *
 * <p>At the JVM's end, not at each test's: several tests hand a folder to a pwgate or a
 * PostgreSQL that is still shutting down when the test returns.
 */
public final class TempDirs {
    private static final List<Path> CREATED = new ArrayList<>();

    static {
        if (!Boolean.getBoolean("pwgate.it.keepTemp")) {
            Runtime.getRuntime().addShutdownHook(new Thread(TempDirs::deleteAll, "pwgate-it-temp-cleanup"));
        }
    }

    private TempDirs() {
    }

    /** A new empty folder under java.io.tmpdir whose name starts with {@code prefix}. */
    public static Path create(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        synchronized (CREATED) {
            CREATED.add(dir);
        }
        return dir;
    }

    private static void deleteAll() {
        List<Path> dirs;
        synchronized (CREATED) {
            dirs = List.copyOf(CREATED);
        }
        for (Path dir : dirs) {
            try {
                deleteTree(dir);
            } catch (IOException | UncheckedIOException e) {
                System.err.println("could not delete " + dir + ": " + e);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
