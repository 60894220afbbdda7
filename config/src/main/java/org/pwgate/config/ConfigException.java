package org.pwgate.config;

import java.util.List;

/** The configuration is invalid. Each error names its key and, where known, its line. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final List<ConfigError> errors;

    public ConfigException(List<ConfigError> errors) {
        super(render(errors));
        this.errors = List.copyOf(errors);
    }

    public List<ConfigError> errors() {
        return errors;
    }

    /** One problem: {@code key} is the dotted path ("limits.auth_timeout"), {@code line} 1-based or 0 when unknown. */
    public record ConfigError(String key, int line, String message) {
        @Override
        public String toString() {
            return (line > 0 ? "line " + line + ": " : "") + key + ": " + message;
        }
    }

    private static String render(List<ConfigError> errors) {
        StringBuilder sb = new StringBuilder("invalid configuration:");
        for (ConfigError e : errors) {
            sb.append("\n  ").append(e);
        }
        return sb.toString();
    }
}
