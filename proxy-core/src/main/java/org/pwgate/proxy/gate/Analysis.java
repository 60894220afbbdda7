package org.pwgate.proxy.gate;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
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

    Analysis {
        readings = List.copyOf(readings);
    }

    /**
     * @param createsOrDrops the statement is a CREATE or DROP (its first keyword), so the gate role
     *                       and rds_superuser are protected as its targets
     */
    record Reading(Statement statement, boolean createsOrDrops) {}

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
        List<Reading> all = new ArrayList<>(a.readings);
        all.addAll(b.readings);
        String redacted = a.redacted != null && a.redacted.equals(b.redacted) ? a.redacted : null;
        return new Analysis(all, redacted);
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
