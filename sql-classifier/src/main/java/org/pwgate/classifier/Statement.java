package org.pwgate.classifier;

import java.util.List;
import java.util.Set;

/**
 * One statement of a classified text.
 *
 * @param span          where it is in the input, in bytes, from its first token to its terminating ';' (exclusive) or the end
 * @param kinds         never empty; {OTHER} for a statement of no interest
 * @param targets       roles the statement creates, alters, renames (old and new name), drops, or whose members it changes
 * @param grantedRoles  for MEMBERSHIP: the roles whose membership changes (the granted groups)
 * @param members       for MEMBERSHIP: the roles added or removed as members
 * @param secrets       byte spans of password literals, for redaction
 * @param scramSecret   a password literal holds a SCRAM-SHA-256 verifier
 * @param md5Secret     a password literal holds an md5 hash
 * @param revoke        for MEMBERSHIP: the statement removes membership (REVOKE, ALTER GROUP … DROP USER)
 */
public record Statement(Span span, Set<Kind> kinds, List<RoleSpec> targets, List<RoleSpec> grantedRoles,
                        List<RoleSpec> members, List<Span> secrets, boolean scramSecret, boolean md5Secret,
                        boolean revoke) {
    public Statement {
        kinds = Set.copyOf(kinds);
        targets = List.copyOf(targets);
        grantedRoles = List.copyOf(grantedRoles);
        members = List.copyOf(members);
        secrets = List.copyOf(secrets);
    }

    public boolean is(Kind kind) {
        return kinds.contains(kind);
    }
}
