package org.pwgate.proxy.gate;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Span;
import org.pwgate.classifier.Statement;

/**
 * What the classifier said about one statement of a Query, or about one prepared statement, under
 * every lexing setting that may be in force when the server parses it. Only readings that are not
 * plain OTHER are kept; "no analysis" (null) means harmless. The live config turns an analysis into
 * a {@link Decision} when the statement starts ({@link GatePolicy}).
 *
 * @param readings  one per lexing setting (and per statement, for a prepared text holding several)
 * @param redacted  the statement with its secrets masked, for the audit log; null when it cannot be
 *                  shown safely (unlexable, or the readings disagree on where the secrets are)
 */
record Analysis(List<Reading> readings, String redacted) {
    /**
     * Distinct readings one merged analysis keeps; past it they are folded into one. A client that
     * pipelines Parse after Parse to one name without reading the answers would otherwise make
     * each merge copy all the readings before it: 16,000 Parses cost 10 s and 1.6 GB.
     */
    static final int MAX_READINGS = 64;
    /** Role names a folded reading keeps; past it, it is TOO_COMPLEX, which is refused to everyone. */
    static final int MAX_FOLDED_NAMES = 1024;

    Analysis {
        readings = List.copyOf(readings);
    }

    /**
     * @param changesRole the statement is a CREATE, DROP or ALTER of a role (its first keyword; ALTER
     *                    GROUP … ADD|DROP USER aside, which changes members only), so the gate role
     *                    and rds_superuser are protected as its targets
     * @param folded      the union of several readings ({@link #fold}): which target is the role
     *                    the statement is about is not known
     */
    record Reading(Statement statement, boolean changesRole, boolean folded) {
        Reading(Statement statement, boolean changesRole) {
            this(statement, changesRole, false);
        }
    }

    static boolean isOther(Statement s) {
        return s.kinds().size() == 1 && s.is(Kind.OTHER);
    }

    /** The union of two analyses: what may be in force when either may be. */
    static Analysis merge(Analysis a, Analysis b) {
        if (a == null || a == b) {
            return b;
        }
        if (b == null) {
            return a;
        }
        Set<Reading> all = new LinkedHashSet<>(a.readings);
        all.addAll(b.readings);
        if (all.size() > MAX_READINGS) {
            return new Analysis(List.of(fold(all)), null);
        }
        String redacted = a.redacted != null && a.redacted.equals(b.redacted) ? a.redacted : null;
        return new Analysis(new ArrayList<>(all), redacted);
    }

    /**
     * One reading that {@link GatePolicy} decides at least as strictly as each of {@code readings}:
     * the union of their kinds, names and flags. Its checks only ever look for a kind, a flag or a
     * name being present, so a union can refuse where no single reading would, but never pass
     * where one would refuse. Secret spans belong to one text each and are dropped (the merged
     * analysis has no redaction anyway).
     */
    static Reading fold(Collection<Reading> readings) {
        EnumSet<Kind> kinds = EnumSet.noneOf(Kind.class);
        Set<RoleSpec> targets = new LinkedHashSet<>();
        Set<RoleSpec> granted = new LinkedHashSet<>();
        Set<RoleSpec> members = new LinkedHashSet<>();
        boolean scram = false;
        boolean md5 = false;
        boolean revoke = false;
        boolean changesRole = false;
        Span span = null;
        for (Reading r : readings) {
            Statement st = r.statement();
            span = span == null ? st.span() : span;
            kinds.addAll(st.kinds());
            targets.addAll(st.targets());
            granted.addAll(st.grantedRoles());
            members.addAll(st.members());
            scram |= st.scramSecret();
            md5 |= st.md5Secret();
            revoke |= st.revoke();
            changesRole |= r.changesRole();
        }
        if (kinds.size() > 1) {
            kinds.remove(Kind.OTHER);
        }
        if (targets.size() + granted.size() + members.size() > MAX_FOLDED_NAMES) {
            kinds.add(Kind.UNLEXABLE);
            kinds.add(Kind.TOO_COMPLEX);
            targets.clear();
            granted.clear();
            members.clear();
        }
        return new Reading(new Statement(span, kinds, List.copyOf(targets), List.copyOf(granted), List.copyOf(members),
                List.of(), scram, md5, revoke), changesRole, true);
    }

    Set<Kind> kinds() {
        Set<Kind> kinds = EnumSet.noneOf(Kind.class);
        for (Reading r : readings) {
            kinds.addAll(r.statement().kinds());
        }
        kinds.remove(Kind.OTHER);
        return kinds;
    }

    /** Every role the statement names (targets, granted roles, members), in order, once each. */
    List<String> roles() {
        Set<String> roles = new LinkedHashSet<>();
        for (Reading r : readings) {
            for (List<RoleSpec> list : List.of(r.statement().targets(), r.statement().grantedRoles(),
                    r.statement().members())) {
                for (RoleSpec spec : list) {
                    roles.add(spec.toString());
                }
            }
        }
        return List.copyOf(roles);
    }
}
