package org.pwgate.classifier;

/** What a statement does to roles. A statement can carry several kinds. */
public enum Kind {
    /** Any PASSWORD, ENCRYPTED PASSWORD, UNENCRYPTED PASSWORD or PASSWORD NULL option of CREATE/ALTER ROLE|USER|GROUP. */
    PASSWORD,
    /** A VALID UNTIL option. */
    VALID_UNTIL,
    /** ALTER ROLE|USER|GROUP … RENAME TO. */
    RENAME,
    /** Adds or removes members of a role: GRANT/REVOKE role, IN ROLE, ROLE, ADMIN, USER options, ALTER GROUP ADD/DROP USER. */
    MEMBERSHIP,
    /** Any other CREATE, ALTER or DROP of a role. */
    ROLE_OTHER,
    /** A body or string literal that, lexed again, holds a statement of one of the kinds above. */
    EMBEDDED,
    /** PostgreSQL might lex this differently from us, or it cannot be lexed: treated as restricted. */
    UNLEXABLE,
    /**
     * Classifying the text would take more work than pwgate allows a text (see the parser's
     * Budget): it comes with UNLEXABLE, and the gate refuses it for everyone.
     */
    TOO_COMPLEX,
    /** None of the above. */
    OTHER
}
