package org.pwgate.config;

import java.nio.file.Path;

/**
 * Reads and validates pwgate's YAML. All errors are collected, not just the first, and each
 * names its key and line. Relative paths resolve against the config file's folder.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** Loads a file; relative paths in it resolve against its folder. */
    public static PwgateConfig load(Path file) throws ConfigException, java.io.IOException {
        throw new UnsupportedOperationException("implemented by the config work");
    }

    /** Parses YAML text; {@code baseDir} resolves relative paths, {@code source} is recorded in the result. */
    public static PwgateConfig parse(String yaml, Path baseDir, java.util.Optional<Path> source) throws ConfigException {
        throw new UnsupportedOperationException("implemented by the config work");
    }
}
