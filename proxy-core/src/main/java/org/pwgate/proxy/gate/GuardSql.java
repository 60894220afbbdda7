package org.pwgate.proxy.gate;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * The SQL the gate runs in front of a restricted statement (DESIGN.md, "The gate"). Everything is
 * schema-qualified, the comparison operator included ({@code OPERATOR(pg_catalog.=)}): with a plain
 * {@code =}, a session could put its own {@code =(name, name)} ahead of pg_catalog in search_path
 * and pick which pg_roles row the guard checks. A missing gate role fails closed (coalesce → false).
 *
 * <p>All text is ASCII. Values from the config or from a statement (role names, messages) are
 * written as plain literals only when they hold no quote, backslash or dollar sign; otherwise as a
 * hex-encoded UTF-8 literal decoded by the server, which no quoting or encoding setting can break.
 */
final class GuardSql {
    private GuardSql() {}

    static String membership(String gateRole) {
        return "DO $pwgate$BEGIN IF NOT coalesce((SELECT pg_catalog.pg_has_role(CURRENT_USER, oid, 'MEMBER')"
                + " FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) " + literal(gateRole)
                + "), false) THEN RAISE EXCEPTION USING ERRCODE = '" + GatePolicy.INSUFFICIENT_PRIVILEGE
                + "', MESSAGE = " + literal(GatePolicy.membershipMessage(gateRole)) + "; END IF; END$pwgate$";
    }

    /**
     * The membership guard, asked only when one of {@code joined} is a member of the gate role
     * (directly or through others, as pg_has_role counts it; the gate role itself included).
     */
    static String membershipIfJoining(String gateRole, List<String> joined) {
        StringBuilder names = new StringBuilder();
        for (String r : joined) {
            names.append(names.length() == 0 ? "" : " OR ").append("r.rolname OPERATOR(pg_catalog.=) ").append(literal(r));
        }
        return "DO $pwgate$BEGIN IF coalesce((SELECT pg_catalog.bool_or(pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER'))"
                + " FROM pg_catalog.pg_roles r, pg_catalog.pg_roles g WHERE g.rolname OPERATOR(pg_catalog.=) "
                + literal(gateRole) + " AND (" + names + ")), false)"
                + " AND NOT coalesce((SELECT pg_catalog.pg_has_role(CURRENT_USER, oid, 'MEMBER')"
                + " FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) " + literal(gateRole)
                + "), false) THEN RAISE EXCEPTION USING ERRCODE = '" + GatePolicy.INSUFFICIENT_PRIVILEGE
                + "', MESSAGE = " + literal(GatePolicy.membershipMessage(gateRole)) + "; END IF; END$pwgate$";
    }

    static String refusal(String sqlState, String message) {
        return "DO $pwgate$BEGIN RAISE EXCEPTION USING ERRCODE = '" + sqlState + "', MESSAGE = "
                + literal(message) + "; END$pwgate$";
    }

    static String forDecision(Decision d, String gateRole) {
        if (d.action() != Decision.Action.GUARD) {
            return refusal(d.sqlState(), d.message());
        }
        return d.ifJoining().isEmpty() ? membership(gateRole) : membershipIfJoining(gateRole, d.ifJoining());
    }

    static String literal(String s) {
        boolean plain = true;
        for (int i = 0; i < s.length() && plain; i++) {
            char c = s.charAt(i);
            plain = c >= 0x20 && c < 0x7f && c != '\'' && c != '\\' && c != '$';
        }
        if (plain) {
            return "'" + s + "'";
        }
        return "pg_catalog.convert_from(pg_catalog.decode('"
                + HexFormat.of().formatHex(s.getBytes(StandardCharsets.UTF_8)) + "', 'hex'), 'UTF8')";
    }
}
