package org.pwgate.it.classifier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pwgate.classifier.Classification;
import org.pwgate.classifier.Classifier;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Statement;
import org.pwgate.proxy.embedded.EmbeddedBackend;

/**
 * The classifier against the real thing: every corpus case runs as superuser on a real PostgreSQL
 * (15 and 17), inside a transaction that is rolled back, and what actually changed in pg_authid,
 * pg_auth_members, pg_db_role_setting and pg_shdescription must agree with the verdict:
 *
 * <pre>
 * rolpassword changed          => PASSWORD (or RENAME, which clears md5 passwords)
 * rolvaliduntil changed        => VALID_UNTIL
 * rolname changed              => RENAME
 * pg_auth_members changed      => MEMBERSHIP (rows of dropped roles excepted)
 * anything above or attributes => not OTHER
 * (EMBEDDED and UNLEXABLE satisfy every rule: the gate treats them as restricted)
 * PASSWORD verdict, accepted   => rolpassword changed (unless the case says pg=samepw)
 * a changed role               => named in the verdict's targets / granted roles
 * </pre>
 *
 * Cases the server rejects are counted, not judged: a rejected query string runs nothing.
 * The cases are sent byte for byte through a raw protocol client, in their client_encoding and
 * with their standard_conforming_strings, so the server lexes exactly what the classifier lexed.
 */
class ClassifierDifferentialIT {

    private static final String PREPARE = String.join("; ",
            "CREATE ROLE alice LOGIN PASSWORD 'secret'",
            "CREATE ROLE bob", "CREATE ROLE carol", "CREATE ROLE dave", "CREATE ROLE grp", "CREATE ROLE grp2",
            "CREATE ROLE mapping", "CREATE ROLE password", "CREATE ROLE valid", "CREATE ROLE \"Mixed\"",
            "CREATE ROLE rename", "CREATE ROLE rdsadmin", "CREATE ROLE rds_password", "CREATE ROLE rds_superuser",
            "GRANT rds_password TO rds_superuser", "GRANT grp TO bob", "GRANT grp TO alice");

    @ParameterizedTest(name = "PostgreSQL {0}")
    @ValueSource(strings = {"15", "17"})
    void verdictsMatchWhatPostgresChanges(String major) throws Exception {
        List<DifferentialCase> cases = DifferentialCase.load();
        assertTrue(cases.size() >= 300, "corpus too small: " + cases.size());
        try (EmbeddedBackend pg = EmbeddedBackend.start(major, Optional.empty(), Map.of());
             RawPgConnection c = new RawPgConnection(pg.host(), pg.port(), EmbeddedBackend.BOOTSTRAP_SUPERUSER, "postgres")) {
            String version = c.query("SHOW server_version_num").rows().get(0).get(0);
            int serverMajor = Integer.parseInt(version) / 10000;
            assertEquals(Integer.parseInt(major), serverMajor, "server major");
            RawPgConnection.Result prep = c.query(PREPARE);
            assertTrue(prep.ok(), "preparing roles: " + prep.message());

            List<String> mismatches = new ArrayList<>();
            int accepted = 0;
            int rejected = 0;
            int skipped = 0;
            for (DifferentialCase k : cases) {
                if (k.skipped()) {
                    skipped++;
                    continue;
                }
                Outcome o = run(c, k);
                if (o == null) {
                    rejected++;
                    if (Boolean.getBoolean("pwgate.differential.verbose")) {
                        System.out.println("rejected by " + major + ": " + k.where() + "  " + k.source());
                    }
                    continue;
                }
                accepted++;
                Classification v = Classifier.classify(k.sql(), 0, k.sql().length, k.settings(serverMajor));
                String problem = judge(v, o, k);
                if (problem != null) {
                    mismatches.add(k.where() + "  " + k.source() + "\n      " + problem);
                }
            }
            System.out.printf("classifier differential on PostgreSQL %s: %d accepted, %d rejected, %d skipped, %d mismatches%n",
                    major, accepted, rejected, skipped, mismatches.size());
            if (!mismatches.isEmpty()) {
                fail(mismatches.size() + " verdicts disagree with PostgreSQL " + major + ":\n  "
                        + String.join("\n  ", mismatches));
            }
            assertTrue(accepted > 150, "too few cases accepted by the server (" + accepted + "): the preparation is broken");
        }
    }

    /** What a case changed, or null if the server rejected it. */
    private static Outcome run(RawPgConnection c, DifferentialCase k) throws Exception {
        check(c.query("BEGIN"));
        Snapshot before = Snapshot.take(c);
        check(c.query("SAVEPOINT differential_case"));
        if (!k.standardConformingStrings()) {
            check(c.query("SET LOCAL standard_conforming_strings = off"));
        }
        if (!k.encoding().equals("UTF8")) {
            check(c.query("SET LOCAL client_encoding = '" + k.encoding() + "'"));
        }
        RawPgConnection.Result r = c.query(k.sql());
        try {
            if (!r.ok()) {
                check(c.query("ROLLBACK TO SAVEPOINT differential_case"));
                return null;
            }
            if (r.transactionStatus() != 'T') {
                throw new AssertionError(k.where() + " ended the test transaction (status " + r.transactionStatus()
                        + "): corpus cases must not commit or roll back");
            }
            check(c.query("SET LOCAL client_encoding = 'UTF8'"));
            check(c.query("SET LOCAL standard_conforming_strings = on"));
            check(c.query("RESET ROLE"));
            check(c.query("RESET SESSION AUTHORIZATION"));
            return Outcome.between(before, Snapshot.take(c));
        } finally {
            check(c.query("ROLLBACK"));
        }
    }

    private static void check(RawPgConnection.Result r) {
        if (!r.ok()) {
            throw new AssertionError("test harness statement failed: " + r.sqlState() + " " + r.message());
        }
    }

    static String judge(Classification v, Outcome o, DifferentialCase k) {
        EnumSet<Kind> kinds = EnumSet.noneOf(Kind.class);
        Set<String> named = new HashSet<>();
        boolean special = false;
        for (Statement s : v.statements()) {
            kinds.addAll(s.kinds());
            for (List<RoleSpec> l : List.of(s.targets(), s.grantedRoles(), s.members())) {
                for (RoleSpec r : l) {
                    if (r.special() == RoleSpec.Special.NAME) {
                        named.add(r.name());
                    } else {
                        special = true;
                    }
                }
            }
        }
        boolean wild = kinds.contains(Kind.EMBEDDED) || kinds.contains(Kind.UNLEXABLE);
        List<String> p = new ArrayList<>();
        if (!o.passwordChanged.isEmpty() && !wild && !kinds.contains(Kind.PASSWORD) && !kinds.contains(Kind.RENAME)) {
            p.add("rolpassword of " + o.passwordChanged + " changed");
        }
        if (!o.validUntilChanged.isEmpty() && !wild && !kinds.contains(Kind.VALID_UNTIL)) {
            p.add("rolvaliduntil of " + o.validUntilChanged + " changed");
        }
        if (!o.renamed.isEmpty() && !wild && !kinds.contains(Kind.RENAME)) {
            p.add("renamed " + o.renamed);
        }
        if (o.membershipChanged && !wild && !kinds.contains(Kind.MEMBERSHIP)) {
            p.add("pg_auth_members changed");
        }
        if (o.anyChange() && kinds.equals(EnumSet.of(Kind.OTHER))) {
            p.add("roles changed (" + o + ") but the verdict is OTHER");
        }
        if (kinds.contains(Kind.PASSWORD) && o.passwordChanged.isEmpty() && !k.samePasswordAllowed()) {
            p.add("PASSWORD verdict but no rolpassword changed");
        }
        if (!wild && !special) {
            Set<String> touched = new HashSet<>(o.passwordChanged);
            touched.addAll(o.validUntilChanged);
            touched.addAll(o.renamed);
            touched.addAll(o.membershipGroups);
            touched.removeAll(named);
            if (!touched.isEmpty()) {
                p.add("changed roles " + touched + " are not named by the verdict " + named);
            }
        }
        return p.isEmpty() ? null : String.join("; ", p) + "  [verdict " + kinds + "]";
    }

    /** The role catalogs, as text keyed by role oid. */
    record Snapshot(Map<String, List<String>> roles, Set<String> members, Set<String> settings, Set<String> comments) {
        static Snapshot take(RawPgConnection c) throws Exception {
            Map<String, List<String>> roles = new HashMap<>();
            RawPgConnection.Result r = c.query("SELECT oid::text, rolname, rolpassword, rolvaliduntil::text, "
                    + "concat_ws(',', rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
                    + "rolbypassrls, rolconnlimit) FROM pg_catalog.pg_authid");
            check(r);
            for (List<String> row : r.rows()) {
                roles.put(row.get(0), row);
            }
            return new Snapshot(roles,
                    set(c, "SELECT concat_ws('/', m.roleid, m.member, (to_jsonb(m) - 'oid' - 'roleid' - 'member')::text) "
                            + "FROM pg_catalog.pg_auth_members m"),
                    set(c, "SELECT concat_ws('/', setdatabase, setrole, setconfig::text) FROM pg_catalog.pg_db_role_setting"),
                    set(c, "SELECT concat_ws('/', objoid, description) FROM pg_catalog.pg_shdescription "
                            + "WHERE classoid = 'pg_catalog.pg_authid'::regclass"));
        }

        private static Set<String> set(RawPgConnection c, String sql) throws Exception {
            RawPgConnection.Result r = c.query(sql);
            check(r);
            Set<String> s = new HashSet<>();
            for (List<String> row : r.rows()) {
                s.add(row.get(0));
            }
            return s;
        }
    }

    /** What changed between two snapshots. */
    static final class Outcome {
        final Set<String> created = new HashSet<>();
        final Set<String> dropped = new HashSet<>();
        final Set<String> passwordChanged = new HashSet<>();
        final Set<String> validUntilChanged = new HashSet<>();
        final Set<String> renamed = new HashSet<>();
        final Set<String> membershipGroups = new HashSet<>();
        boolean attributesChanged;
        boolean membershipChanged;
        boolean settingsChanged;
        boolean commentsChanged;

        static Outcome between(Snapshot a, Snapshot b) {
            Outcome o = new Outcome();
            Set<String> droppedOids = new HashSet<>();
            for (var e : a.roles().entrySet()) {
                List<String> after = b.roles().get(e.getKey());
                List<String> before = e.getValue();
                if (after == null) {
                    o.dropped.add(before.get(1));
                    droppedOids.add(e.getKey());
                    continue;
                }
                if (!before.get(1).equals(after.get(1))) {
                    o.renamed.add(before.get(1));
                }
                if (!java.util.Objects.equals(before.get(2), after.get(2))) {
                    o.passwordChanged.add(before.get(1));
                }
                if (!java.util.Objects.equals(before.get(3), after.get(3))) {
                    o.validUntilChanged.add(before.get(1));
                }
                if (!before.get(4).equals(after.get(4))) {
                    o.attributesChanged = true;
                }
            }
            for (var e : b.roles().entrySet()) {
                if (!a.roles().containsKey(e.getKey())) {
                    List<String> row = e.getValue();
                    o.created.add(row.get(1));
                    if (row.get(2) != null) {
                        o.passwordChanged.add(row.get(1));
                    }
                    if (row.get(3) != null) {
                        o.validUntilChanged.add(row.get(1));
                    }
                }
            }
            Set<String> diff = new HashSet<>(a.members());
            diff.removeAll(b.members());
            Set<String> added = new HashSet<>(b.members());
            added.removeAll(a.members());
            diff.addAll(added);
            for (String row : diff) {
                String[] f = row.split("/", 3);
                // Rows that vanish with a dropped role are DROP ROLE's business, not a membership change.
                if (droppedOids.contains(f[0]) || droppedOids.contains(f[1])) {
                    continue;
                }
                o.membershipChanged = true;
                List<String> group = a.roles().containsKey(f[0]) ? a.roles().get(f[0]) : b.roles().get(f[0]);
                o.membershipGroups.add(group.get(1));
            }
            o.settingsChanged = !a.settings().equals(b.settings());
            o.commentsChanged = !a.comments().equals(b.comments());
            return o;
        }

        boolean anyChange() {
            return !created.isEmpty() || !dropped.isEmpty() || !passwordChanged.isEmpty() || !validUntilChanged.isEmpty()
                    || !renamed.isEmpty() || attributesChanged || membershipChanged || settingsChanged || commentsChanged;
        }

        @Override
        public String toString() {
            return "created=" + created + " dropped=" + dropped + " password=" + passwordChanged + " validUntil="
                    + validUntilChanged + " renamed=" + renamed + " attributes=" + attributesChanged + " members="
                    + membershipChanged + " settings=" + settingsChanged + " comments=" + commentsChanged;
        }
    }
}
