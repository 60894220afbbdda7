package org.pwgate.proxy.embedded;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.pwgate.auth.Md5;
import org.pwgate.auth.SqlRunner;
import org.pwgate.config.PwgateConfig.Bootstrap;
import org.pwgate.config.PwgateConfig.BootstrapUser;
import org.pwgate.config.Secret;

/**
 * Creates, idempotently, the roles the Aurora-like setup needs, as a superuser through the
 * service connection:
 *
 * <pre>
 *   gate role (rds_password) NOLOGIN; rds_superuser NOLOGIN;
 *                GRANT gate role TO rds_superuser WITH ADMIN OPTION (its members may grant it, as on Aurora)
 *   master user: LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION VALID UNTIL 'infinity',
 *                its md5 password, GRANT rds_superuser TO master
 *   each bootstrap user: created if missing, then its attributes, password and memberships (re)applied;
 *                        on PostgreSQL 16+ the master user gets ADMIN OPTION on it (not superusers)
 * </pre>
 *
 * The ADMIN OPTION is what PostgreSQL 16+ gives a CREATEROLE role on the roles it creates itself
 * (with INHERIT FALSE, SET FALSE): without it the master user could not change the password of a
 * user that the bootstrap, not the master, created.
 *
 * Statements are built with quoted identifiers and literals (utility statements take no
 * parameters) and are never logged: they carry password hashes.
 */
public final class RoleBootstrap {
    public static final String RDS_SUPERUSER = "rds_superuser";
    static final String MASTER_ATTRIBUTES =
            "LOGIN NOSUPERUSER INHERIT CREATEDB CREATEROLE NOREPLICATION VALID UNTIL 'infinity'";

    private final SqlRunner sql;
    private final Duration timeout;

    public RoleBootstrap(SqlRunner sql, Duration timeout) {
        this.sql = sql;
        this.timeout = timeout;
    }

    public void run(String gateRole, Optional<Bootstrap> bootstrap) throws BootstrapException {
        ensureRole(gateRole, "NOLOGIN");
        ensureRole(RDS_SUPERUSER, "NOLOGIN");
        grant(gateRole, RDS_SUPERUSER, true);
        if (bootstrap.isEmpty()) {
            return;
        }
        Bootstrap b = bootstrap.get();
        if (b.masterUser().isPresent()) {
            String master = b.masterUser().get();
            ensureRole(master, MASTER_ATTRIBUTES);
            setPassword(master, b.masterPassword());
            grant(RDS_SUPERUSER, master);
        }
        boolean adminOptionNeeded = b.masterUser().isPresent() && serverVersionNum() >= 160000;
        for (BootstrapUser u : b.users()) {
            ensureRole(u.name(), u.attributes());
            setPassword(u.name(), u.password());
            for (String role : u.memberOf()) {
                grant(role, u.name());
            }
            if (adminOptionNeeded && !u.name().equals(b.masterUser().get())) {
                grantAdminOption(u.name(), b.masterUser().get());
            }
        }
    }

    int serverVersionNum() throws BootstrapException {
        List<List<Optional<String>>> rows = query("SELECT pg_catalog.current_setting('server_version_num')", List.of(),
                "read the server version");
        return Integer.parseInt(rows.get(0).get(0).orElse("0"));
    }

    /** PostgreSQL 16+: lets {@code master} administer {@code role} without becoming it (skipped for superusers). */
    void grantAdminOption(String role, String master) throws BootstrapException {
        boolean skip = !query("SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = $1 AND (r.rolsuper OR EXISTS ("
                + "SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles u ON u.oid = m.member"
                + " WHERE m.roleid = r.oid AND u.rolname = $2 AND m.admin_option))", List.of(role, master),
                "look up the admin option on " + role).isEmpty();
        if (!skip) {
            execute("GRANT " + ident(role) + " TO " + ident(master) + " WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
                    "give " + master + " the admin option on " + role);
        }
    }

    /** Creates the role if missing, else applies the attributes again. */
    void ensureRole(String role, String attributes) throws BootstrapException {
        boolean exists = !query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", List.of(role), "look up role " + role).isEmpty();
        String attrs = attributes == null ? "" : attributes.strip();
        if (!exists) {
            execute("CREATE ROLE " + ident(role) + (attrs.isEmpty() ? "" : " " + attrs), "create role " + role);
        } else if (!attrs.isEmpty()) {
            execute("ALTER ROLE " + ident(role) + " " + attrs, "alter role " + role);
        }
    }

    void setPassword(String role, Optional<Secret> password) throws BootstrapException {
        if (password.isEmpty()) {
            return;
        }
        execute("ALTER ROLE " + ident(role) + " PASSWORD " + literal(md5Of(password.get(), role)), "set the password of " + role);
    }

    void grant(String role, String member) throws BootstrapException {
        grant(role, member, false);
    }

    /**
     * Makes {@code member} a member of {@code role}; with {@code adminOption}, one that may grant it
     * to others (on Aurora, members of rds_superuser may grant rds_password), which an existing
     * membership without the option then gets too.
     */
    void grant(String role, String member, boolean adminOption) throws BootstrapException {
        boolean already = !query("SELECT 1 FROM pg_catalog.pg_auth_members m"
                + " JOIN pg_catalog.pg_roles r ON r.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member"
                + " WHERE r.rolname = $1 AND u.rolname = $2" + (adminOption ? " AND m.admin_option" : ""),
                List.of(role, member), "look up membership").isEmpty();
        if (!already) {
            execute("GRANT " + ident(role) + " TO " + ident(member) + (adminOption ? " WITH ADMIN OPTION" : ""),
                    "grant " + role + " to " + member + (adminOption ? " with the admin option" : ""));
        }
    }

    /** A password from the config as PostgreSQL stores it: an md5 hash as is, plaintext hashed with the role name. */
    public static String md5Of(Secret password, String role) {
        return password.isMd5Hash() ? password.reveal() : Md5.hash(password.reveal(), role);
    }

    public static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    public static String literal(String value) {
        if (value.indexOf('\\') >= 0) {
            return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
        }
        return "'" + value.replace("'", "''") + "'";
    }

    void execute(String statement, String what) throws BootstrapException {
        query(statement, List.of(), what);
    }

    List<List<Optional<String>>> query(String statement, List<String> params, String what) throws BootstrapException {
        try {
            return sql.query(statement, params).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new BootstrapException("bootstrap could not " + what + ": " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new BootstrapException("bootstrap could not " + what + ": no answer within " + timeout.toSeconds() + "s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BootstrapException("bootstrap interrupted");
        }
    }

    /** Bootstrap failed; the message says which step and why, never a password. */
    public static final class BootstrapException extends Exception {
        private static final long serialVersionUID = 1L;

        public BootstrapException(String message) {
            super(message, null, false, false);
        }
    }
}
