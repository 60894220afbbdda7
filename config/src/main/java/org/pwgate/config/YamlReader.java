package org.pwgate.config;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import org.pwgate.config.ConfigException.ConfigError;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Typed reads over snakeyaml-engine's node tree, collecting every problem with its dotted key and
 * line instead of stopping at the first. A read that fails records an error and returns empty;
 * the caller then carries on with a default so that later problems are still found.
 *
 * <p>Values of secret keys are never echoed into a message, and neither is any other value: a
 * message says what was expected, the key and the line say where.
 */
final class YamlReader {
    private final List<ConfigError> errors = new ArrayList<>();
    private final Path baseDir;

    YamlReader(Path baseDir) {
        this.baseDir = baseDir;
    }

    List<ConfigError> errors() {
        return errors;
    }

    void error(String key, Node at, String message) {
        errors.add(new ConfigError(key, line(at), message));
    }

    void error(String key, int line, String message) {
        errors.add(new ConfigError(key, line, message));
    }

    static int line(Node n) {
        return n == null ? 0 : n.getStartMark().map(m -> m.getLine() + 1).orElse(0);
    }

    /**
     * A mapping at {@code path}: its entries by key text, with the key nodes kept for their lines.
     * {@code line} is where the mapping is introduced (its key's line for a section), the line a
     * "missing key" error points at.
     */
    record Mapping(String path, int line, Map<String, Node> values, Map<String, Node> keys) {
        String child(String key) {
            return path.isEmpty() ? key : path + "." + key;
        }

        Optional<Node> value(String key) {
            return Optional.ofNullable(values.get(key));
        }

        boolean has(String key) {
            return values.containsKey(key);
        }

        int keyLine(String key) {
            return YamlReader.line(keys.get(key));
        }
    }

    /**
     * Reads {@code node} as a mapping whose keys must come from {@code allowed} (null: any key).
     * Duplicate and unknown keys are errors.
     */
    Optional<Mapping> mapping(String path, Node node, Set<String> allowed) {
        return mapping(path, line(node), node, allowed);
    }

    private Optional<Mapping> mapping(String path, int introducedAt, Node node, Set<String> allowed) {
        if (!(node instanceof MappingNode mn)) {
            error(path, node, "expected a mapping (key: value lines)");
            return Optional.empty();
        }
        Map<String, Node> values = new LinkedHashMap<>();
        Map<String, Node> keys = new LinkedHashMap<>();
        for (NodeTuple t : mn.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                error(path, t.getKeyNode(), "a key must be plain text");
                continue;
            }
            String key = k.getValue();
            String dotted = path.isEmpty() ? key : path + "." + key;
            if (keys.containsKey(key)) {
                error(dotted, k, "duplicate key (first at line " + line(keys.get(key)) + ")");
                continue;
            }
            if (allowed != null && !allowed.contains(key)) {
                error(dotted, k, "unknown key; known keys here: " + String.join(", ", new TreeSet<>(allowed)));
                continue;
            }
            keys.put(key, k);
            values.put(key, t.getValueNode());
        }
        return Optional.of(new Mapping(path, introducedAt, values, keys));
    }

    /** A nested mapping, absent when the key is absent. */
    Optional<Mapping> section(Mapping parent, String key, Set<String> allowed) {
        return parent.value(key).flatMap(n -> notNull(parent, key, n)
                ? mapping(parent.child(key), parent.keyLine(key), n, allowed) : Optional.empty());
    }

    void require(Mapping m, String key) {
        if (!m.has(key)) {
            error(m.child(key), m.line(), "is required" + (m.path().isEmpty() ? "" : " in " + m.path()));
        }
    }

    private boolean notNull(Mapping m, String key, Node n) {
        if (n instanceof ScalarNode s && s.getTag().equals(Tag.NULL)) {
            error(m.child(key), m.keys().get(key), "has no value; give one or remove the key");
            return false;
        }
        return true;
    }

    /** Any scalar, as its text (so {@code version: 17} and {@code version: "17"} both read "17"). */
    Optional<String> text(Mapping m, String key) {
        Optional<Node> v = m.value(key);
        if (v.isEmpty() || !notNull(m, key, v.get())) {
            return Optional.empty();
        }
        if (!(v.get() instanceof ScalarNode s)) {
            error(m.child(key), v.get(), "expected a single value, not a list or mapping");
            return Optional.empty();
        }
        return Optional.of(s.getValue());
    }

    Optional<String> nonEmptyText(Mapping m, String key) {
        Optional<String> t = text(m, key);
        if (t.isPresent() && t.get().isBlank()) {
            error(m.child(key), m.value(key).get(), "must not be empty");
            return Optional.empty();
        }
        return t;
    }

    OptionalInt integer(Mapping m, String key, long min, long max) {
        Optional<Node> v = m.value(key);
        if (v.isEmpty() || !notNull(m, key, v.get())) {
            return OptionalInt.empty();
        }
        if (!(v.get() instanceof ScalarNode s) || !s.getTag().equals(Tag.INT) || !s.getValue().matches("[-+]?\\d{1,12}")) {
            error(m.child(key), v.get(), "expected an integer between " + min + " and " + max);
            return OptionalInt.empty();
        }
        long n = Long.parseLong(s.getValue());
        if (n < min || n > max) {
            error(m.child(key), v.get(), "must be between " + min + " and " + max);
            return OptionalInt.empty();
        }
        return OptionalInt.of((int) n);
    }

    Optional<Duration> duration(Mapping m, String key, Duration min, Duration max) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        Optional<Duration> d = Units.duration(t.get());
        if (d.isEmpty()) {
            error(m.child(key), m.value(key).get(), "expected a duration: " + Units.DURATION_FORM);
            return Optional.empty();
        }
        if (d.get().compareTo(min) < 0 || d.get().compareTo(max) > 0) {
            error(m.child(key), m.value(key).get(),
                    "must be between " + Units.format(min) + " and " + Units.format(max));
            return Optional.empty();
        }
        return d;
    }

    OptionalLong size(Mapping m, String key, long min, long max) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return OptionalLong.empty();
        }
        OptionalLong n = Units.size(t.get());
        if (n.isEmpty()) {
            error(m.child(key), m.value(key).get(), "expected a size: " + Units.SIZE_FORM);
            return OptionalLong.empty();
        }
        if (n.getAsLong() < min || n.getAsLong() > max) {
            error(m.child(key), m.value(key).get(), "must be between " + min + " and " + max + " bytes (1KiB..1GiB)");
            return OptionalLong.empty();
        }
        return n;
    }

    Optional<Boolean> postgresBoolean(Mapping m, String key) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        Optional<Boolean> b = Units.postgresBoolean(t.get());
        if (b.isEmpty()) {
            error(m.child(key), m.value(key).get(), "expected " + Units.BOOLEAN_FORM);
        }
        return b;
    }

    /** One of {@code choices} (written in lower case in YAML, matched case-insensitively). */
    <E extends Enum<E>> Optional<E> choice(Mapping m, String key, Map<String, E> choices) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        E e = choices.get(t.get().strip().toLowerCase(Locale.ROOT));
        if (e == null) {
            error(m.child(key), m.value(key).get(), "expected one of: " + String.join(", ", choices.keySet()));
            return Optional.empty();
        }
        return Optional.of(e);
    }

    Optional<Secret> secret(Mapping m, String key) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        if (t.get().isEmpty()) {
            error(m.child(key), m.value(key).get(), "must not be empty");
            return Optional.empty();
        }
        // A SCRAM verifier cannot answer an MD5 challenge nor be checked against one.
        if (t.get().startsWith("SCRAM-SHA-256$")) {
            error(m.child(key), m.value(key).get(),
                    "a SCRAM verifier cannot be used (pwgate speaks MD5); give the md5 hash or the plaintext password");
            return Optional.empty();
        }
        return Optional.of(new Secret(t.get()));
    }

    Optional<String> roleName(Mapping m, String key) {
        Optional<String> t = text(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        Optional<String> problem = RoleSyntax.nameProblem(t.get());
        if (problem.isPresent()) {
            error(m.child(key), m.value(key).get(), problem.get());
            return Optional.empty();
        }
        return t;
    }

    /** A list of role names; a scalar in place of the list is an error, not a one-element list. */
    Optional<List<String>> roleNames(Mapping m, String key) {
        Optional<Node> v = m.value(key);
        if (v.isEmpty() || !notNull(m, key, v.get())) {
            return Optional.empty();
        }
        if (!(v.get() instanceof SequenceNode seq)) {
            error(m.child(key), v.get(), "expected a list of role names, e.g. [a, b]");
            return Optional.empty();
        }
        List<String> names = new ArrayList<>();
        boolean ok = true;
        for (int i = 0; i < seq.getValue().size(); i++) {
            Node item = seq.getValue().get(i);
            String path = m.child(key) + "[" + i + "]";
            if (!(item instanceof ScalarNode s) || s.getTag().equals(Tag.NULL)) {
                error(path, item, "expected a role name");
                ok = false;
                continue;
            }
            Optional<String> problem = RoleSyntax.nameProblem(s.getValue());
            if (problem.isPresent()) {
                error(path, item, problem.get());
                ok = false;
                continue;
            }
            names.add(s.getValue());
        }
        return ok ? Optional.of(List.copyOf(names)) : Optional.empty();
    }

    /** A path, resolved against the config file's folder when relative. */
    Optional<Path> path(Mapping m, String key) {
        Optional<String> t = nonEmptyText(m, key);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(baseDir.resolve(t.get()).normalize());
        } catch (InvalidPathException e) {
            error(m.child(key), m.value(key).get(), "is not a valid path");
            return Optional.empty();
        }
    }

    /** A path to a file that must exist and be readable now (certificates, keys, userlists). */
    Optional<Path> readableFile(Mapping m, String key) {
        Optional<Path> p = path(m, key);
        if (p.isEmpty()) {
            return p;
        }
        if (!Files.isRegularFile(p.get())) {
            error(m.child(key), m.value(key).get(), "file not found: " + p.get());
            return Optional.empty();
        }
        if (!Files.isReadable(p.get())) {
            error(m.child(key), m.value(key).get(), "file is not readable: " + p.get());
            return Optional.empty();
        }
        return p;
    }
}
