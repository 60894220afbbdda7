package org.pwgate.proxy.gate;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Statement;
import org.pwgate.config.PwgateConfig;

/**
 * Turns an {@link Analysis} into a {@link Decision} under the live config: Aurora's restricted
 * password management plus pwgate's protected roles. Pure: no state, no I/O.
 *
 * <p>Order of precedence, strictest first: a text too complex to classify within the classifier's
 * budget (54001, for everyone: what it names is not known); a protected role named anywhere
 * (42501, for everyone);
 * any CREATE, DROP, RENAME or ALTER of the gate role or rds_superuser but a change of their members
 * (42501, for everyone); revoking the gate role from rds_superuser (42501, for everyone); a SCRAM
 * verifier as password (0A000, for everyone); then the restricted kinds (membership guard), and
 * every other membership change, guarded when the role joined is a member of the gate role.
 *
 * <p>CURRENT_USER, CURRENT_ROLE and SESSION_USER are matched against protected roles as the
 * session's authorization user: pwgate does not see SET ROLE's effect (no ParameterStatus reports
 * it). That is a documented limit; a password change of CURRENT_USER is restricted regardless.
 * {@code ALL} (ALTER ROLE ALL SET …) and PUBLIC match no protected role.
 */
final class GatePolicy {
    static final String INSUFFICIENT_PRIVILEGE = "42501";
    static final String FEATURE_NOT_SUPPORTED = "0A000";
    static final String STATEMENT_TOO_COMPLEX = "54001";
    static final String RDS_SUPERUSER = "rds_superuser";
    private static final Set<Kind> MEMBERSHIP_ONLY = Set.of(Kind.MEMBERSHIP);

    private GatePolicy() {}

    static String membershipMessage(String gateRole) {
        return "must be a member of " + gateRole + " to alter passwords";
    }

    static String protectedRoleMessage(String role) {
        return "permission denied: role \"" + role + "\" is protected";
    }

    static String tooComplexMessage() {
        return "statement too complex for pwgate to check for password commands: send smaller statements";
    }

    static String scramMessage() {
        return "pwgate authenticates clients with MD5, so a SCRAM-SHA-256 password verifier cannot be stored through it";
    }

    static String revokeGateMessage(String gateRole) {
        return "cannot revoke " + gateRole + " from " + RDS_SUPERUSER;
    }

    static Decision decide(Analysis analysis, PwgateConfig config, String sessionUser) {
        if (analysis == null) {
            return Decision.NONE;
        }
        Decision best = Decision.NONE;
        for (Analysis.Reading r : analysis.readings()) {
            best = best.and(decide(r, config, sessionUser));
        }
        return best;
    }

    private static Decision decide(Analysis.Reading reading, PwgateConfig config, String sessionUser) {
        Statement st = reading.statement();
        if (Analysis.isOther(st)) {
            return Decision.NONE;
        }
        if (st.is(Kind.TOO_COMPLEX)) {
            return Decision.refuse(STATEMENT_TOO_COMPLEX, tooComplexMessage());
        }
        String gate = config.gateRole();
        List<String> protectedRoles = config.protectedRoles();
        for (List<RoleSpec> list : List.of(st.targets(), st.grantedRoles(), st.members())) {
            for (RoleSpec spec : list) {
                String name = resolve(spec, sessionUser);
                if (name != null && protectedRoles.contains(name)) {
                    return Decision.refuse(INSUFFICIENT_PRIVILEGE, protectedRoleMessage(name));
                }
            }
        }
        // The gate role and rds_superuser may gain and lose members (below), and nothing else: no
        // CREATE, DROP, RENAME or other ALTER of them (a gate role with LOGIN and a password would
        // be a shared login that passes the gate). An embedded or unlexable statement's verb is
        // unknown: it counts as such a statement.
        boolean changesTheRole = reading.changesRole() || !st.kinds().equals(MEMBERSHIP_ONLY);
        if (changesTheRole) {
            for (RoleSpec spec : st.targets()) {
                String name = resolve(spec, sessionUser);
                // CREATE ROLE x IN ROLE rds_password: x is created and joins it, which is a
                // membership change of rds_password only (the first target is the role created
                // or altered itself; a folded reading cannot tell which that was).
                boolean onlyJoined = !reading.folded() && st.grantedRoles().contains(spec) && !spec.equals(st.targets().get(0));
                if ((gate.equals(name) || RDS_SUPERUSER.equals(name)) && !onlyJoined) {
                    return Decision.refuse(INSUFFICIENT_PRIVILEGE, protectedRoleMessage(name));
                }
            }
        }
        boolean grantsGate = st.is(Kind.MEMBERSHIP) && names(st.grantedRoles(), gate, sessionUser);
        if (grantsGate && st.revoke() && names(st.members(), RDS_SUPERUSER, sessionUser)) {
            return Decision.refuse(INSUFFICIENT_PRIVILEGE, revokeGateMessage(gate));
        }
        if (st.scramSecret()) {
            return Decision.refuse(FEATURE_NOT_SUPPORTED, scramMessage());
        }
        if (st.is(Kind.PASSWORD) || st.is(Kind.VALID_UNTIL) || st.is(Kind.RENAME) || st.is(Kind.EMBEDDED)
                || st.is(Kind.UNLEXABLE) || grantsGate) {
            return Decision.guard(gate);
        }
        if (st.is(Kind.MEMBERSHIP)) {
            // Joining a role that is itself a member of the gate role (rds_superuser, or a role a
            // DBA granted it to) makes a member too: on PostgreSQL 15 and older any CREATEROLE role
            // may GRANT rds_superuser to itself. Which roles are members is known only to the
            // server, when the statement runs: the guard asks it then.
            List<String> joined = new ArrayList<>();
            for (RoleSpec spec : st.grantedRoles()) {
                if (spec.special() != RoleSpec.Special.NAME) {
                    return Decision.guard(gate); // a role only the server can name: members only
                }
                joined.add(spec.name());
            }
            return joined.isEmpty() ? Decision.guard(gate) : Decision.guardIfJoining(gate, joined);
        }
        return Decision.NONE;
    }

    private static boolean names(List<RoleSpec> roles, String role, String sessionUser) {
        for (RoleSpec spec : roles) {
            if (role.equals(resolve(spec, sessionUser))) {
                return true;
            }
        }
        return false;
    }

    private static String resolve(RoleSpec spec, String sessionUser) {
        return switch (spec.special()) {
            case NAME -> spec.name();
            case CURRENT_USER, CURRENT_ROLE, SESSION_USER -> sessionUser;
            case PUBLIC, ALL -> null;
        };
    }
}
