package org.pwgate.classifier;

/**
 * A role named by a statement: either a name, folded and truncated exactly as PostgreSQL does
 * (unquoted A–Z folded to lower case, 63-byte limit), or one of the special role specifications.
 */
public record RoleSpec(Special special, String name) {
    public enum Special { NAME, CURRENT_USER, SESSION_USER, CURRENT_ROLE, PUBLIC, ALL }

    public static RoleSpec named(String name) {
        return new RoleSpec(Special.NAME, name);
    }

    public boolean isNamed(String role) {
        return special == Special.NAME && name.equals(role);
    }

    @Override
    public String toString() {
        return special == Special.NAME ? name : special.name();
    }
}
