package org.pwgate.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.pwgate.config.ConfigException.ConfigError;
import org.pwgate.config.PwgateConfig.Admin;
import org.pwgate.config.PwgateConfig.Auth;
import org.pwgate.config.PwgateConfig.AuthSource;
import org.pwgate.config.PwgateConfig.Backend;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.config.PwgateConfig.Bootstrap;
import org.pwgate.config.PwgateConfig.BootstrapUser;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.config.PwgateConfig.Embedded;
import org.pwgate.config.PwgateConfig.Limits;
import org.pwgate.config.PwgateConfig.Listen;
import org.pwgate.config.PwgateConfig.LogFormat;
import org.pwgate.config.PwgateConfig.Logging;
import org.pwgate.config.PwgateConfig.Parameters;
import org.pwgate.config.PwgateConfig.Throttle;
import org.pwgate.config.PwgateConfig.Tls;
import org.pwgate.config.YamlReader.Mapping;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * Reads and validates pwgate's YAML. All errors are collected, not just the first, and each
 * names its key and line. Relative paths resolve against the config file's folder.
 *
 * <p>Value syntaxes: durations carry a unit ({@code 500ms}, {@code 15s}, {@code 2m}, {@code 1h},
 * {@code 1d}; a bare number is an error), sizes are bytes or {@code N kB/KiB/MB/MiB/GB/GiB}
 * (powers of 1024, as in postgresql.conf), parameters take PostgreSQL's boolean spellings. Role
 * names are kept exactly as written and compared case-sensitively with pg_authid.rolname.
 *
 * <p>The YAML is read with the node API (Compose) rather than into Java maps so that every value
 * keeps its line, and duplicate keys are seen rather than silently overwritten.
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** The only parameter-group name pwgate acts on; an unknown one is an error, not ignored. */
    public static final String RESTRICT_PASSWORD_COMMANDS = "rds.restrict_password_commands";

    public static final String DEFAULT_GATE_ROLE = "rds_password";
    public static final List<String> DEFAULT_PROTECTED_ROLES = List.of("rdsadmin");

    private static final Set<String> TOP = Set.of("listen", "backend", "auth", "limits", "parameters", "gate_role",
            "protected_roles", "bootstrap", "tls", "admin", "logging");

    /** Loads a file; relative paths in it resolve against its folder. */
    public static PwgateConfig load(Path file) throws ConfigException, IOException {
        byte[] bytes = Files.readAllBytes(file);
        String yaml;
        try {
            yaml = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ConfigException(List.of(new ConfigError("(file)", 0, file + " is not valid UTF-8")));
        }
        Path absolute = file.toAbsolutePath().normalize();
        Path baseDir = absolute.getParent() != null ? absolute.getParent() : absolute;
        return parse(yaml, baseDir, Optional.of(absolute));
    }

    /** Parses YAML text; {@code baseDir} resolves relative paths, {@code source} is recorded in the result. */
    public static PwgateConfig parse(String yaml, Path baseDir, Optional<Path> source) throws ConfigException {
        Node root;
        try {
            LoadSettings settings = LoadSettings.builder()
                    .setSchema(new CoreSchema())
                    .setLabel(source.map(Path::toString).orElse("config"))
                    .setMaxAliasesForCollections(50)
                    .setCodePointLimit(1024 * 1024)
                    .build();
            Optional<Node> composed = new Compose(settings).composeString(yaml);
            if (composed.isEmpty()) {
                throw new ConfigException(List.of(new ConfigError("(document)", 1,
                        "the configuration is empty; expected a mapping with at least listen, backend and auth")));
            }
            root = composed.get();
        } catch (MarkedYamlEngineException e) {
            // Only the problem and its line: the exception's own message quotes a snippet of the
            // file, which may be the line holding a password.
            int line = e.getProblemMark().or(e::getContextMark).map(m -> m.getLine() + 1).orElse(0);
            throw new ConfigException(List.of(new ConfigError("(yaml)", line, "not valid YAML: " + e.getProblem())));
        } catch (YamlEngineException e) {
            throw new ConfigException(List.of(new ConfigError("(yaml)", 0, "not valid YAML")));
        }
        if (!(root instanceof MappingNode)) {
            throw new ConfigException(List.of(new ConfigError("(document)", YamlReader.line(root),
                    "expected a mapping with at least listen, backend and auth at the top level")));
        }
        YamlReader r = new YamlReader(baseDir);
        PwgateConfig config = build(r, r.mapping("", root, TOP).orElseThrow(), source);
        if (!r.errors().isEmpty()) {
            throw new ConfigException(r.errors());
        }
        return config;
    }

    private static PwgateConfig build(YamlReader r, Mapping top, Optional<Path> source) {
        r.require(top, "listen");
        r.require(top, "backend");
        r.require(top, "auth");
        Listen listen = listen(r, top);
        Backend backend = backend(r, top);
        Auth auth = auth(r, top);
        Limits limits = limits(r, top);
        Parameters parameters = parameters(r, top);
        String gateRole = r.roleName(top, "gate_role").orElse(DEFAULT_GATE_ROLE);
        List<String> protectedRoles = r.roleNames(top, "protected_roles").orElse(DEFAULT_PROTECTED_ROLES);
        Optional<Bootstrap> bootstrap = bootstrap(r, top);
        Tls tls = tls(r, top);
        Optional<Mapping> adminSection = r.section(top, "admin", Set.of("host", "port"));
        Optional<Admin> admin = adminSection
                .map(m -> new Admin(r.nonEmptyText(m, "host").orElse("127.0.0.1"),
                        r.integer(m, "port", 0, 65535).orElse(9187)));
        if (admin.isPresent() && admin.get().port() != 0 && admin.get().port() == listen.port()
                && sameOrWildcard(admin.get().host(), listen.host())) {
            Mapping m = adminSection.get();
            r.error(m.child("port"), m.has("port") ? m.keyLine("port") : m.line(),
                    "the admin listener cannot share port " + listen.port() + " with listen.port");
        }
        Logging logging = logging(r, top);
        return new PwgateConfig(listen, backend, auth, limits, parameters, gateRole, protectedRoles, bootstrap,
                tls, admin, logging, source);
    }

    private static boolean sameOrWildcard(String a, String b) {
        Set<String> any = Set.of("0.0.0.0", "::", "*");
        return a.equalsIgnoreCase(b) || any.contains(a) || any.contains(b);
    }

    private static Listen listen(YamlReader r, Mapping top) {
        Optional<Mapping> m = r.section(top, "listen", Set.of("host", "port", "threads"));
        return new Listen(
                m.flatMap(x -> r.nonEmptyText(x, "host")).orElse("127.0.0.1"),
                m.map(x -> r.integer(x, "port", 0, 65535).orElse(6432)).orElse(6432),
                m.map(x -> r.integer(x, "threads", 1, 1024).orElse(0)).orElse(0));
    }

    private static final Map<String, BackendTlsMode> BACKEND_TLS = orderedMap(
            "disable", BackendTlsMode.DISABLE, "prefer", BackendTlsMode.PREFER, "require", BackendTlsMode.REQUIRE,
            "verify-ca", BackendTlsMode.VERIFY_CA, "verify-full", BackendTlsMode.VERIFY_FULL);

    /**
     * With {@code embedded}, host and port are not known until the bundled server has started:
     * the record then holds 127.0.0.1 and port 0, and the proxy replaces them with the started
     * server's. Giving host or port together with embedded is an error rather than ignored.
     */
    private static Backend backend(YamlReader r, Mapping top) {
        Optional<Mapping> om = r.section(top, "backend",
                Set.of("host", "port", "connect_timeout", "tls", "tls_ca", "embedded"));
        if (om.isEmpty()) {
            return new Backend("127.0.0.1", 5432, Optional.empty(), Duration.ofSeconds(5), BackendTlsMode.DISABLE,
                    Optional.empty());
        }
        Mapping m = om.get();
        Optional<Embedded> embedded = r.section(m, "embedded", Set.of("version", "data_directory")).map(e -> {
            String version = r.nonEmptyText(e, "version").orElse("17");
            if (!version.strip().matches("\\d{1,2}")) {
                r.error(e.child("version"), e.value("version").orElse(null),
                        "expected a PostgreSQL major version such as \"17\"");
            }
            return new Embedded(version.strip(), r.path(e, "data_directory"));
        });
        if (m.has("embedded") && m.has("host")) {
            r.error(m.child("host"), m.keyLine("host"),
                    "give either backend.host or backend.embedded, not both");
        }
        if (m.has("embedded") && m.has("port")) {
            r.error(m.child("port"), m.keyLine("port"),
                    "the embedded backend picks its own port; remove backend.port");
        }
        if (!m.has("embedded") && !m.has("host")) {
            r.error(m.child("host"), m.line(), "is required unless backend.embedded is given");
        }
        String host = r.nonEmptyText(m, "host").orElse("127.0.0.1");
        int port = r.integer(m, "port", 1, 65535).orElse(embedded.isPresent() ? 0 : 5432);
        Duration connectTimeout = r.duration(m, "connect_timeout", Duration.ofMillis(1), Duration.ofHours(1))
                .orElse(Duration.ofSeconds(5));
        BackendTlsMode tls = r.choice(m, "tls", BACKEND_TLS).orElse(BackendTlsMode.DISABLE);
        Optional<Path> ca = r.readableFile(m, "tls_ca");
        if ((tls == BackendTlsMode.VERIFY_CA || tls == BackendTlsMode.VERIFY_FULL) && !m.has("tls_ca")) {
            r.error(m.child("tls_ca"), m.keyLine("tls"), "is required with tls: verify-ca or verify-full");
        }
        Backend backend = new Backend(host, port, embedded, connectTimeout, tls, ca);
        if (m.has("host") && Backend.isSocketDirectory(host)) {
            socketDirectory(r, m, backend);
        }
        return backend;
    }

    /**
     * A socket directory as backend.host: PostgreSQL never offers TLS on its Unix-domain socket
     * (it answers an SSLRequest there with 'N'), so a mode that insists on TLS could only fail at
     * every login; and the socket's path must fit the kernel's sun_path (107 bytes and a NUL).
     */
    private static void socketDirectory(YamlReader r, Mapping m, Backend backend) {
        if (backend.tls() != BackendTlsMode.DISABLE && backend.tls() != BackendTlsMode.PREFER) {
            r.error(m.child("tls"), m.keyLine("tls"),
                    "PostgreSQL offers no TLS on its Unix-domain socket (backend.host is a socket directory); "
                            + "use tls: disable, or a TCP host");
        }
        String socket = backend.socketPath().orElseThrow().toString();
        int bytes = socket.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_SOCKET_PATH_BYTES) {
            r.error(m.child("host"), m.value("host").orElse(null), "the socket path " + socket + " is " + bytes
                    + " bytes long; Unix-domain socket paths are limited to " + MAX_SOCKET_PATH_BYTES);
        }
    }

    /** sun_path holds 108 bytes on Linux, the last one the terminating NUL. */
    private static final int MAX_SOCKET_PATH_BYTES = 107;

    private static final Map<String, AuthSource> AUTH_SOURCES = orderedMap(
            "auth_query", AuthSource.AUTH_QUERY, "auth_file", AuthSource.AUTH_FILE);

    private static Auth auth(YamlReader r, Mapping top) {
        Optional<Mapping> om = r.section(top, "auth",
                Set.of("source", "auth_user", "auth_password", "auth_query", "auth_database", "auth_file"));
        if (om.isEmpty()) {
            return new Auth(AuthSource.AUTH_QUERY, Optional.empty(), Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty());
        }
        Mapping m = om.get();
        r.require(m, "source");
        AuthSource source = r.choice(m, "source", AUTH_SOURCES).orElse(null);
        Optional<String> user = r.roleName(m, "auth_user");
        Optional<Secret> password = r.secret(m, "auth_password");
        Optional<String> query = r.nonEmptyText(m, "auth_query");
        if (query.isPresent() && !query.get().contains("$1")) {
            r.error(m.child("auth_query"), m.value("auth_query").get(),
                    "must contain $1, where pwgate puts the user name");
        }
        Optional<String> database = r.nonEmptyText(m, "auth_database");
        Optional<Path> file = source == AuthSource.AUTH_FILE ? r.readableFile(m, "auth_file") : r.path(m, "auth_file");
        if (source == AuthSource.AUTH_QUERY) {
            r.require(m, "auth_user");
            if (m.has("auth_file")) {
                r.error(m.child("auth_file"), m.keyLine("auth_file"), "is only used with source: auth_file");
            }
        } else if (source == AuthSource.AUTH_FILE) {
            r.require(m, "auth_file");
            for (String k : List.of("auth_user", "auth_password", "auth_query", "auth_database")) {
                if (m.has(k)) {
                    r.error(m.child(k), m.keyLine(k), "is only used with source: auth_query");
                }
            }
        }
        return new Auth(source == null ? AuthSource.AUTH_QUERY : source, user, password, query, file, database);
    }

    static final long MIN_MESSAGE_SIZE = 1024;
    static final long MAX_MESSAGE_SIZE = 1024L * 1024 * 1024;

    private static Limits limits(YamlReader r, Mapping top) {
        Optional<Mapping> m = r.section(top, "limits",
                Set.of("max_client_connections", "auth_timeout", "max_message_size", "drain_time", "failed_login"));
        int maxConnections = m.map(x -> r.integer(x, "max_client_connections", 1, 100_000).orElse(1000)).orElse(1000);
        Duration authTimeout = m.flatMap(x -> r.duration(x, "auth_timeout", Duration.ofMillis(100), Duration.ofHours(1)))
                .orElse(Duration.ofSeconds(15));
        long maxMessage = m.map(x -> r.size(x, "max_message_size", MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE)
                .orElse(64L * 1024 * 1024)).orElse(64L * 1024 * 1024);
        Duration drain = m.flatMap(x -> r.duration(x, "drain_time", Duration.ZERO, Duration.ofDays(1)))
                .orElse(Duration.ofSeconds(30));
        Optional<Mapping> fl = m.flatMap(x -> r.section(x, "failed_login", Set.of("limit", "window", "delay")));
        Throttle throttle = new Throttle(
                fl.map(x -> r.integer(x, "limit", 1, 1_000_000).orElse(5)).orElse(5),
                fl.flatMap(x -> r.duration(x, "window", Duration.ofSeconds(1), Duration.ofDays(1))).orElse(Duration.ofSeconds(60)),
                fl.flatMap(x -> r.duration(x, "delay", Duration.ZERO, Duration.ofMinutes(1))).orElse(Duration.ofSeconds(1)));
        return new Limits(maxConnections, authTimeout, maxMessage, drain, throttle);
    }

    private static Parameters parameters(YamlReader r, Mapping top) {
        Optional<Mapping> om = r.section(top, "parameters", Set.of(RESTRICT_PASSWORD_COMMANDS));
        Optional<Boolean> restrict = om.flatMap(m -> r.postgresBoolean(m, RESTRICT_PASSWORD_COMMANDS));
        Map<String, String> raw = new LinkedHashMap<>();
        if (restrict.isPresent()) {
            // A valid boolean was read, so the node is a scalar: keep its spelling as written.
            raw.put(RESTRICT_PASSWORD_COMMANDS,
                    ((ScalarNode) om.get().value(RESTRICT_PASSWORD_COMMANDS).orElseThrow()).getValue());
        }
        return new Parameters(restrict.orElse(false), raw);
    }

    private static Optional<Bootstrap> bootstrap(YamlReader r, Mapping top) {
        return r.section(top, "bootstrap", Set.of("master_user", "master_password", "users")).map(m -> {
            Optional<String> master = r.roleName(m, "master_user");
            Optional<Secret> masterPassword = r.secret(m, "master_password");
            if (masterPassword.isPresent() && master.isEmpty() && !m.has("master_user")) {
                r.error(m.child("master_password"), m.keyLine("master_password"), "needs bootstrap.master_user");
            }
            List<BootstrapUser> users = new ArrayList<>();
            m.value("users").ifPresent(n -> {
                if (!(n instanceof SequenceNode seq)) {
                    r.error(m.child("users"), n, "expected a list of users");
                    return;
                }
                for (int i = 0; i < seq.getValue().size(); i++) {
                    String path = m.child("users") + "[" + i + "]";
                    r.mapping(path, seq.getValue().get(i), Set.of("name", "password", "attributes", "member_of"))
                            .ifPresent(u -> user(r, u).ifPresent(users::add));
                }
            });
            return new Bootstrap(master, masterPassword, users);
        });
    }

    private static Optional<BootstrapUser> user(YamlReader r, Mapping u) {
        r.require(u, "name");
        Optional<String> name = r.roleName(u, "name");
        Optional<Secret> password = r.secret(u, "password");
        String attributes = r.text(u, "attributes").map(String::strip).orElse("");
        RoleSyntax.attributesProblem(attributes)
                .ifPresent(p -> r.error(u.child("attributes"), u.value("attributes").orElse(null), p));
        List<String> memberOf = r.roleNames(u, "member_of").orElse(List.of());
        return name.map(n -> new BootstrapUser(n, password, attributes, memberOf));
    }

    private static final Map<String, ClientTlsMode> CLIENT_TLS = orderedMap(
            "disable", ClientTlsMode.DISABLE, "allow", ClientTlsMode.ALLOW, "require", ClientTlsMode.REQUIRE);
    private static final Map<String, ClientCertVerify> VERIFY = orderedMap(
            "none", ClientCertVerify.NONE, "ca", ClientCertVerify.CA, "full", ClientCertVerify.FULL);

    private static Tls tls(YamlReader r, Mapping top) {
        Optional<Mapping> om = r.section(top, "tls", Set.of("mode", "cert", "key", "client_ca", "verify"));
        if (om.isEmpty()) {
            return Tls.disabled();
        }
        Mapping m = om.get();
        ClientTlsMode mode = r.choice(m, "mode", CLIENT_TLS).orElse(ClientTlsMode.DISABLE);
        Optional<Path> cert = r.readableFile(m, "cert");
        Optional<Path> key = r.readableFile(m, "key");
        Optional<Path> clientCa = r.readableFile(m, "client_ca");
        ClientCertVerify verify = r.choice(m, "verify", VERIFY).orElse(ClientCertVerify.NONE);
        if (mode != ClientTlsMode.DISABLE) {
            for (String k : List.of("cert", "key")) {
                if (!m.has(k)) {
                    r.error(m.child(k), m.keyLine("mode"), "is required with tls.mode allow or require");
                }
            }
        }
        if (verify != ClientCertVerify.NONE && !m.has("client_ca")) {
            r.error(m.child("client_ca"), m.keyLine("verify"), "is required with tls.verify ca or full");
        }
        return new Tls(mode, cert, key, clientCa, verify);
    }

    private static final Map<String, LogFormat> LOG_FORMATS = orderedMap("text", LogFormat.TEXT, "json", LogFormat.JSON);
    private static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error", "off");

    /**
     * pwgate's own loggers (org.pwgate) follow root unless set, so {@code root: warn} quiets them
     * too; the audit log keeps its level whatever root says, and goes quiet only when told to.
     */
    public static final Map<String, String> DEFAULT_LOG_LEVELS = Map.of("root", "info", "pwgate.audit", "info");

    private static Logging logging(YamlReader r, Mapping top) {
        Optional<Mapping> om = r.section(top, "logging", Set.of("format", "levels", "audit_file"));
        LogFormat format = om.flatMap(m -> r.choice(m, "format", LOG_FORMATS)).orElse(LogFormat.TEXT);
        Map<String, String> levels = new LinkedHashMap<>(DEFAULT_LOG_LEVELS);
        om.flatMap(m -> r.section(m, "levels", null)).ifPresent(lv -> {
            for (String logger : lv.values().keySet()) {
                if (!logger.matches("[A-Za-z0-9_$.-]+")) {
                    r.error(lv.child(logger), lv.keyLine(logger), "is not a logger name");
                    continue;
                }
                r.text(lv, logger).ifPresent(level -> {
                    String l = level.strip().toLowerCase(Locale.ROOT);
                    if (LOG_LEVELS.contains(l)) {
                        levels.put(logger, l);
                    } else {
                        r.error(lv.child(logger), lv.value(logger).get(),
                                "expected a level: trace, debug, info, warn, error or off");
                    }
                });
            }
        });
        Optional<Path> audit = om.flatMap(m -> r.path(m, "audit_file"));
        return new Logging(format, levels, audit);
    }

    /**
     * The keys whose change between {@code before} and {@code after} needs a restart: the
     * listeners, the backend, client TLS (its handler is built at startup), the log format and
     * audit file (appenders are built at startup) and bootstrap (it runs once, at startup).
     * Everything else ({@link #changedLive}) applies to the running proxy.
     */
    public static List<String> restartRequired(PwgateConfig before, PwgateConfig after) {
        return changes(before, after, RESTART);
    }

    /** The keys that changed and apply without a restart: parameters, roles, limits, auth, log levels. */
    public static List<String> changedLive(PwgateConfig before, PwgateConfig after) {
        return changes(before, after, LIVE);
    }

    private record Watched(String key, Function<PwgateConfig, Object> value) {}

    private static final List<Watched> RESTART = List.of(
            new Watched("listen", PwgateConfig::listen),
            new Watched("backend", PwgateConfig::backend),
            new Watched("tls", PwgateConfig::tls),
            new Watched("admin", PwgateConfig::admin),
            new Watched("logging.format", c -> c.logging().format()),
            new Watched("logging.audit_file", c -> c.logging().auditFile()),
            new Watched("bootstrap", PwgateConfig::bootstrap));

    private static final List<Watched> LIVE = List.of(
            new Watched("parameters", PwgateConfig::parameters),
            new Watched("gate_role", PwgateConfig::gateRole),
            new Watched("protected_roles", PwgateConfig::protectedRoles),
            new Watched("limits", PwgateConfig::limits),
            new Watched("auth", PwgateConfig::auth),
            new Watched("logging.levels", c -> c.logging().levels()));

    private static List<String> changes(PwgateConfig before, PwgateConfig after, List<Watched> watched) {
        return watched.stream()
                .filter(w -> !Objects.equals(w.value().apply(before), w.value().apply(after)))
                .map(Watched::key)
                .toList();
    }

    /** A map that keeps the order choices are listed in error messages. */
    @SuppressWarnings("unchecked")
    private static <E> Map<String, E> orderedMap(Object... kv) {
        Map<String, E> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (E) kv[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
