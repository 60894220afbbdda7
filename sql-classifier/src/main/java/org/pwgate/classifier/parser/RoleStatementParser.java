package org.pwgate.classifier.parser;

import java.util.List;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Span;

/**
 * Recursive descent over gram.y's role statements (CreateRoleStmt, CreateUserStmt,
 * CreateGroupStmt, AlterRoleStmt, AlterRoleSetStmt, AlterGroupStmt, RenameStmt for roles,
 * DropRoleStmt, GrantRoleStmt, RevokeRoleStmt; see ../shared/reference/postgresql-role-grammar.md)
 * plus COMMENT ON ROLE, SECURITY LABEL ON ROLE, DROP OWNED BY and REASSIGN OWNED BY.
 *
 * <p>It is deliberately forgiving after the statement's leading keywords: when what follows is not
 * what the grammar allows, PostgreSQL rejects the whole query string, so any verdict is harmless
 * there; when it is valid, every option is recognised. So unknown tokens in an option list are
 * skipped and the scan goes on (a later PASSWORD still counts), which also makes the parser useful
 * on templates such as {@code format('ALTER ROLE %I PASSWORD %L', …)}.
 *
 * <p>Decisions where PostgreSQL's answer is not a role change: ALTER ROLE … SET/RESET, ALTER ROLE
 * ALL, COMMENT ON ROLE and SECURITY LABEL ON ROLE are ROLE_OTHER with their targets, so the gate can
 * protect roles such as rdsadmin from them; DROP OWNED BY and REASSIGN OWNED BY are OTHER but list
 * their roles as targets; CREATE/ALTER/DROP USER MAPPING, SET ROLE, SET SESSION AUTHORIZATION and
 * GRANT/REVOKE … ON … are OTHER.
 */
final class RoleStatementParser {
    private final LexedText x;
    private final Verdict v;
    private final int e;
    private final Budget budget;
    /** The furthest token looked at: what the parse cost, charged to the budget. */
    private int far;

    private RoleStatementParser(LexedText x, Verdict v, int start, int e, Budget budget) {
        this.x = x;
        this.v = v;
        this.e = e;
        this.budget = budget;
        this.far = start;
    }

    /** Could a role statement start at token i? (cheap pre-check for the anywhere-scan) */
    static boolean mayStart(LexedText x, int i) {
        return x.kw(i, "alter") || x.kw(i, "create") || x.kw(i, "drop") || x.kw(i, "grant") || x.kw(i, "revoke")
                || x.kw(i, "comment") || x.kw(i, "security") || x.kw(i, "reassign");
    }

    /**
     * Parses the statement in tokens [i, e) if it is one of ours, adding to {@code v}.
     * Returns true if it was a role statement (or DROP/REASSIGN OWNED).
     */
    static boolean parse(LexedText x, int i, int e, Verdict v, Budget budget) {
        RoleStatementParser p = new RoleStatementParser(x, v, i, e, budget);
        boolean ours = p.statement(i);
        budget.scanned(p.far - i + 1L);
        return ours;
    }

    private boolean kw(int i, String w) {
        return within(i) && x.kw(i, w);
    }

    private boolean ch(int i, char c) {
        return within(i) && x.ch(i, c);
    }

    /** Whether token i is in the statement; notes how far the parse has looked. */
    private boolean within(int i) {
        if (i >= e) {
            return false;
        }
        far = Math.max(far, i);
        return true;
    }

    private <T> void add(List<T> into, T item) {
        budget.name();
        into.add(item);
    }

    private boolean statement(int i) {
        if (kw(i, "alter")) {
            if (kw(i + 1, "role") || kw(i + 1, "user")) {
                if (kw(i + 1, "user") && userMapping(i + 2)) {
                    return false;
                }
                alterRole(i + 2);
                return true;
            }
            if (kw(i + 1, "group")) {
                alterGroup(i + 2);
                return true;
            }
            return false;
        }
        if (kw(i, "create") && (kw(i + 1, "role") || kw(i + 1, "user") || kw(i + 1, "group"))) {
            if (kw(i + 1, "user") && userMapping(i + 2)) {
                return false;
            }
            int j = i + 2;
            j = target(j);
            options(j, true, roleAt(i + 2));
            v.finishRoleStatement();
            return true;
        }
        if (kw(i, "drop")) {
            if (kw(i + 1, "role") || kw(i + 1, "user") || kw(i + 1, "group")) {
                if (kw(i + 1, "user") && userMapping(i + 2)) {
                    return false;
                }
                int j = i + 2;
                if (kw(j, "if") && kw(j + 1, "exists")) {
                    j += 2;
                }
                roleList(j, v.targets);
                v.finishRoleStatement();
                return true;
            }
            if (kw(i + 1, "owned") && kw(i + 2, "by")) {
                roleList(i + 3, v.targets);
                return true;
            }
            return false;
        }
        if (kw(i, "reassign") && kw(i + 1, "owned") && kw(i + 2, "by")) {
            int j = roleList(i + 3, v.targets);
            if (kw(j, "to") && x.isName(j + 1) && j + 1 < e) {
                add(v.targets, x.roleSpec(j + 1));
            }
            return true;
        }
        if (kw(i, "grant")) {
            return grantOrRevoke(i + 1, false);
        }
        if (kw(i, "revoke")) {
            int j = i + 1;
            // REVOKE {ADMIN | INHERIT | SET | GRANT} OPTION FOR …
            if (j + 2 < e && x.isName(j) && kw(j + 1, "option") && kw(j + 2, "for")) {
                j += 3;
            }
            return grantOrRevoke(j, true);
        }
        if (kw(i, "comment") && kw(i + 1, "on") && kw(i + 2, "role")) {
            target(i + 3);
            v.finishRoleStatement();
            return true;
        }
        if (kw(i, "security") && kw(i + 1, "label")) {
            int j = i + 2;
            if (kw(j, "for")) {
                j += 2;
            }
            if (kw(j, "on") && kw(j + 1, "role")) {
                target(j + 2);
                v.finishRoleStatement();
                return true;
            }
        }
        return false;
    }

    /** USER MAPPING FOR … / USER MAPPING IF [NOT] EXISTS …; otherwise "mapping" is a role name. */
    private boolean userMapping(int j) {
        return kw(j, "mapping") && (kw(j + 1, "for") || kw(j + 1, "if"));
    }

    private RoleSpec roleAt(int j) {
        return j < e && x.isName(j) ? x.roleSpec(j) : null;
    }

    /** Adds the role named at j (if any) to the targets; returns the index after it. */
    private int target(int j) {
        if (j < e && x.isName(j)) {
            add(v.targets, x.roleSpec(j));
            return j + 1;
        }
        return j;
    }

    private void alterRole(int j) {
        RoleSpec role;
        if (kw(j, "all")) {
            add(v.targets, new RoleSpec(RoleSpec.Special.ALL, null));
            role = null;
            j++;
        } else {
            role = roleAt(j);
            j = target(j);
        }
        if (kw(j, "rename")) {
            rename(j);
            v.finishRoleStatement();
            return;
        }
        if (kw(j, "in") && kw(j + 1, "database")) {
            // AlterRoleSetStmt: per-database settings, no role option.
            v.finishRoleStatement();
            return;
        }
        if (kw(j, "set") || kw(j, "reset")) {
            v.finishRoleStatement();
            return;
        }
        options(j, false, role);
        v.finishRoleStatement();
    }

    private void alterGroup(int j) {
        RoleSpec group = roleAt(j);
        j = target(j);
        if (kw(j, "rename")) {
            rename(j);
        } else if ((kw(j, "add") || kw(j, "drop")) && kw(j + 1, "user")) {
            boolean drop = kw(j, "drop");
            v.kinds.add(Kind.MEMBERSHIP);
            if (group != null) {
                add(v.granted, group);
            }
            roleList(j + 2, v.members);
            if (drop) {
                v.revoke = true;
            }
        } else {
            options(j, false, group);
        }
        v.finishRoleStatement();
    }

    private void rename(int j) {
        v.kinds.add(Kind.RENAME);
        if (kw(j + 1, "to")) {
            target(j + 2);
        }
    }

    /**
     * CreateOptRoleElem / AlterOptRoleElem list from j to the end. {@code role} is the role
     * being created or altered (for USER/ROLE/ADMIN/IN ROLE membership), or null if unknown.
     */
    private void options(int j, boolean create, RoleSpec role) {
        while (j < e) {
            if (kw(j, "password")) {
                j = password(j + 1);
            } else if ((kw(j, "encrypted") || kw(j, "unencrypted")) && kw(j + 1, "password")) {
                j = password(j + 2);
            } else if (kw(j, "valid") && kw(j + 1, "until")) {
                v.kinds.add(Kind.VALID_UNTIL);
                j += 2;
                if (j < e && x.isSconst(j)) {
                    v.consumedLiterals.set(j);
                    j++;
                }
            } else if (kw(j, "connection") && kw(j + 1, "limit")) {
                j += 2;
            } else if (kw(j, "sysid")) {
                j += 2;
            } else if (kw(j, "user") || kw(j, "role") || kw(j, "admin")) {
                // USER/ROLE/ADMIN role_list: the listed roles become members of this role.
                v.kinds.add(Kind.MEMBERSHIP);
                if (role != null) {
                    add(v.granted, role);
                }
                j = roleList(j + 1, v.members);
            } else if (kw(j, "in") && (kw(j + 1, "role") || kw(j + 1, "group"))) {
                // IN ROLE role_list: this role becomes a member of the listed roles.
                v.kinds.add(Kind.MEMBERSHIP);
                int first = v.granted.size();
                j = roleList(j + 2, v.granted);
                for (RoleSpec r : v.granted.subList(first, v.granted.size())) {
                    add(v.targets, r);
                }
                if (role != null) {
                    add(v.members, role);
                }
            } else {
                j++;
            }
        }
    }

    /** After PASSWORD: Sconst or NULL. Records the secret span and its md5/SCRAM nature. */
    private int password(int j) {
        v.kinds.add(Kind.PASSWORD);
        if (j < e && x.isSconst(j)) {
            v.consumedLiterals.set(j);
            add(v.secrets, new Span(x.t.start(j), x.t.end(j)));
            byte[] value = x.value(j);
            if (value != null) {
                v.scram |= isScram(value);
                v.md5 |= isMd5(value);
            }
            return j + 1;
        }
        if (kw(j, "null")) {
            return j + 1;
        }
        return j;
    }

    /** A SCRAM-SHA-256 verifier as PostgreSQL's parse_scram_secret would consider one (prefix check). */
    static boolean isScram(byte[] value) {
        String prefix = "SCRAM-SHA-256$";
        if (value.length < prefix.length()) {
            return false;
        }
        for (int k = 0; k < prefix.length(); k++) {
            if (value[k] != prefix.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** get_password_type: "md5" followed by exactly 32 lower-case hex digits. */
    static boolean isMd5(byte[] value) {
        if (value.length != 35 || value[0] != 'm' || value[1] != 'd' || value[2] != '5') {
            return false;
        }
        for (int k = 3; k < 35; k++) {
            int c = value[k];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    /** role_list: RoleSpec {',' RoleSpec}. Returns the index after the list. */
    private int roleList(int j, List<RoleSpec> into) {
        while (within(j) && x.isName(j)) {
            add(into, x.roleSpec(j));
            j++;
            if (ch(j, ',')) {
                j++;
            } else {
                break;
            }
        }
        return j;
    }

    /**
     * GRANT privilege_list TO role_list … / REVOKE privilege_list FROM role_list …: a role grant
     * exactly when no ON follows the privilege list (GrantStmt / RevokeStmt otherwise).
     */
    private boolean grantOrRevoke(int j, boolean revoke) {
        String sep = revoke ? "from" : "to";
        int depth = 0;
        int k = j;
        for (; k < e; k++) {
            if (ch(k, '(')) {
                depth++;
            } else if (ch(k, ')')) {
                depth--;
            } else if (depth == 0 && kw(k, "on")) {
                return false;
            } else if (depth == 0 && kw(k, sep)) {
                break;
            }
        }
        if (k >= e) {
            return false;
        }
        v.kinds.add(Kind.MEMBERSHIP);
        v.revoke |= revoke;
        // privilege_list: each privilege is a role name; multi-word ones (ALTER SYSTEM) join with a space.
        int p = j;
        depth = 0;
        int itemStart = -1;
        StringBuilder words = null;
        for (; p <= k; p++) {
            boolean boundary = p == k || (depth == 0 && ch(p, ','));
            if (boundary) {
                if (itemStart >= 0) {
                    if (words == null) {
                        add(v.granted, kw(itemStart, "all") ? new RoleSpec(RoleSpec.Special.ALL, null) : x.roleSpec(itemStart));
                    } else {
                        add(v.granted, RoleSpec.named(words.toString()));
                    }
                    add(v.targets, v.granted.get(v.granted.size() - 1));
                }
                itemStart = -1;
                words = null;
                continue;
            }
            if (ch(p, '(')) {
                depth++;
            } else if (ch(p, ')')) {
                depth--;
            } else if (depth == 0 && x.isName(p)) {
                if (itemStart < 0) {
                    itemStart = p;
                } else {
                    if (words == null) {
                        words = new StringBuilder(x.word(itemStart));
                    }
                    words.append(' ').append(x.word(p));
                }
            }
        }
        roleList(k + 1, v.members);
        return true;
    }
}
