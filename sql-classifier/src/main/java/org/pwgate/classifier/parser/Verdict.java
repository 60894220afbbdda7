package org.pwgate.classifier.parser;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.List;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.Span;

/** What the parser found in one statement (or in one embedded text), accumulated as it goes. */
final class Verdict {
    final EnumSet<Kind> kinds = EnumSet.noneOf(Kind.class);
    final List<RoleSpec> targets = new ArrayList<>(2);
    final List<RoleSpec> granted = new ArrayList<>(2);
    final List<RoleSpec> members = new ArrayList<>(2);
    /** Absolute byte spans of password literals. */
    final List<Span> secrets = new ArrayList<>(1);
    /** Token indices of literals already accounted for (password, VALID UNTIL values). */
    final BitSet consumedLiterals = new BitSet();
    boolean roleStatement;
    boolean scram;
    boolean md5;
    boolean revoke;
    /** An embedded text held a password literal: the literal holding it must be redacted. */
    boolean embeddedSecret;

    static final EnumSet<Kind> RESTRICTING = EnumSet.of(Kind.PASSWORD, Kind.VALID_UNTIL, Kind.RENAME,
            Kind.MEMBERSHIP, Kind.ROLE_OTHER, Kind.EMBEDDED, Kind.UNLEXABLE);

    boolean restricting() {
        for (Kind k : kinds) {
            if (RESTRICTING.contains(k)) {
                return true;
            }
        }
        return false;
    }

    /** Closes a role statement: ROLE_OTHER when it is role DDL of no more specific kind. */
    void finishRoleStatement() {
        roleStatement = true;
        if (!kinds.contains(Kind.PASSWORD) && !kinds.contains(Kind.VALID_UNTIL) && !kinds.contains(Kind.RENAME)
                && !kinds.contains(Kind.MEMBERSHIP)) {
            kinds.add(Kind.ROLE_OTHER);
        }
    }

    /** Takes in what an embedded text (a body or literal) holds: the outer statement becomes EMBEDDED. */
    void absorbEmbedded(Verdict inner) {
        kinds.add(Kind.EMBEDDED);
        targets.addAll(inner.targets);
        granted.addAll(inner.granted);
        members.addAll(inner.members);
        scram |= inner.scram;
        md5 |= inner.md5;
        revoke |= inner.revoke;
        if (inner.kinds.contains(Kind.PASSWORD) || inner.embeddedSecret || !inner.secrets.isEmpty()) {
            embeddedSecret = true;
        }
    }

    /** Adds a verdict of the same text (another parse position or lexing setting). */
    void merge(Verdict other) {
        kinds.addAll(other.kinds);
        targets.addAll(other.targets);
        granted.addAll(other.granted);
        members.addAll(other.members);
        secrets.addAll(other.secrets);
        scram |= other.scram;
        md5 |= other.md5;
        revoke |= other.revoke;
        embeddedSecret |= other.embeddedSecret;
    }
}
