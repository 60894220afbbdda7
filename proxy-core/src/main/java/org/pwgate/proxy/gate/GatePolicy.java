package org.pwgate.proxy.gate;

import java.util.List;
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
 * CREATE/DROP/RENAME of the gate role or rds_superuser (42501, for everyone); revoking the gate
 * role from rds_superuser (42501, for everyone); a SCRAM verifier as password (0A000, for everyone);
 * then the restricted kinds (membership guard).
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
            Decision d = decide(r, config, sessionUser);
            if (d.stricterThan(best)) {
                best = d;
            }
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
        // An embedded or unlexable statement's verb is unknown: treat it as a CREATE/DROP/RENAME.
        boolean createDropRename = reading.createsOrDrops() || st.is(Kind.RENAME) || st.is(Kind.EMBEDDED)
                || st.is(Kind.UNLEXABLE);
        if (createDropRename) {
            for (RoleSpec spec : st.targets()) {
                String name = resolve(spec, sessionUser);
                if (gate.equals(name) || RDS_SUPERUSER.equals(name)) {
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
