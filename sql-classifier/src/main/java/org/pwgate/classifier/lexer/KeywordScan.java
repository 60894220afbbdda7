package org.pwgate.classifier.lexer;

/**
 * The fast path: can these bytes start or embed a restricted statement at all?
 *
 * <p>Every restricted statement contains one of the keywords ROLE, USER, GROUP, GRANT or REVOKE
 * (CREATE/ALTER/DROP ROLE|USER|GROUP, ALTER GROUP, GRANT/REVOKE role, COMMENT/SECURITY LABEL ON
 * ROLE); PASSWORD, VALID and RENAME are searched too, as a belt. SQL keywords cannot be escaped
 * (U&"…" makes an identifier, never a keyword), and PostgreSQL matches keywords ASCII
 * case-insensitively, so an ASCII search is exact for text the server lexes directly. A word is
 * only a keyword when it is a whole token: it must not follow a letter, '_' or a byte >= 0x80 and
 * must not be followed by an identifier character. Digits and '$' before it do not protect
 * ({@code 1ROLE} and {@code $ROLE} lex as two tokens in some versions), so they do not count as
 * word characters on the left. For the client-only encodings a trailing byte in the ASCII range can
 * only make the search say "maybe" more often, never less (see the class comment of PgEncoding).
 *
 * <p>Text that the server decodes before running it can produce keyword letters from escapes:
 * E'\x41LTER …', U&'\0041LTER …' (any UESCAPE character), and with standard_conforming_strings off
 * every '…' literal takes backslash escapes. Without the session settings, any backslash or
 * {@code U&} therefore answers "maybe". With settings and standard_conforming_strings on, a
 * backslash only matters when an E-string prefix ({@code e'}/{@code E'}) occurs somewhere.
 *
 * <p>Allocation-free; one pass over the bytes.
 */
public final class KeywordScan {
    private KeywordScan() {}

    /** The conservative form: any backslash or U& answers true. */
    public static boolean mayConcernRoles(byte[] b, int off, int len) {
        return scan(b, off, len, true) != 0;
    }

    /** With the session's standard_conforming_strings known. */
    public static boolean mayConcernRoles(byte[] b, int off, int len, boolean standardConformingStrings) {
        int r = scan(b, off, len, !standardConformingStrings);
        if (r == FOUND) {
            return true;
        }
        // r == BACKSLASH_SEEN: escapes only act inside E'…' when standard_conforming_strings is on.
        return r == BACKSLASH_SEEN && hasEStringPrefix(b, off, len);
    }

    private static final int NONE = 0;
    private static final int FOUND = 1;
    private static final int BACKSLASH_SEEN = 2;

    private static int scan(byte[] b, int off, int len, boolean backslashCounts) {
        int end = off + len;
        boolean backslash = false;
        for (int i = off; i < end; i++) {
            int c = b[i];
            if (c == '\\') {
                if (backslashCounts) {
                    return FOUND;
                }
                backslash = true;
                continue;
            }
            int lc = c | 0x20;
            if (lc != 'r' && lc != 'u' && lc != 'g' && lc != 'p' && lc != 'v') {
                continue;
            }
            if (lc == 'u' && i + 1 < end && b[i + 1] == '&') {
                return FOUND;
            }
            if (i > off && wordLeft(b[i - 1])) {
                continue;
            }
            boolean hit;
            switch (lc) {
                case 'r':
                    hit = word(b, i, end, "role") || word(b, i, end, "revoke") || word(b, i, end, "rename");
                    break;
                case 'u':
                    hit = word(b, i, end, "user");
                    break;
                case 'g':
                    hit = word(b, i, end, "group") || word(b, i, end, "grant");
                    break;
                case 'p':
                    hit = word(b, i, end, "password");
                    break;
                default:
                    hit = word(b, i, end, "valid");
                    break;
            }
            if (hit) {
                return FOUND;
            }
        }
        return backslash ? BACKSLASH_SEEN : NONE;
    }

    private static boolean wordLeft(int c) {
        return c < 0 || c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    }

    private static boolean word(byte[] b, int i, int end, String w) {
        int n = w.length();
        if (i + n > end) {
            return false;
        }
        for (int k = 1; k < n; k++) {
            if ((b[i + k] | 0x20) != w.charAt(k)) {
                return false;
            }
        }
        if (i + n < end) {
            int c = b[i + n];
            return !(c < 0 || c == '_' || c == '$' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
        }
        return true;
    }

    private static boolean hasEStringPrefix(byte[] b, int off, int len) {
        int end = off + len;
        for (int i = off; i + 1 < end; i++) {
            if ((b[i] | 0x20) == 'e' && b[i + 1] == '\'') {
                return true;
            }
        }
        return false;
    }

    /**
     * The keyword-sequence backstop for text we could not lex, or that another language (PL/Python,
     * PL/v8 …) will run: (ALTER|CREATE|DROP) (ROLE|USER|GROUP) as consecutive words (USER MAPPING
     * excluded), GRANT … TO or REVOKE … FROM within a few words without ON in between.
     */
    public static boolean restrictedSequence(byte[] b, int off, int len) {
        int end = off + len;
        int prev = -1; // 0 alter/create/drop, 1 grant, 2 revoke
        int grantWords = 0;
        int i = off;
        while (i < end) {
            int c = b[i];
            if (!isAsciiLetter(c)) {
                i++;
                continue;
            }
            int s = i;
            while (i < end && (isAsciiLetter(b[i]) || b[i] == '_' || (b[i] >= '0' && b[i] <= '9'))) {
                i++;
            }
            boolean leftOk = s == off || !wordLeft(b[s - 1]);
            boolean rightOk = i == end || b[i] >= 0;
            if (!leftOk || !rightOk) {
                prev = -1;
                continue;
            }
            int n = i - s;
            if (prev == 0 && (is(b, s, n, "role") || is(b, s, n, "group")
                    || (is(b, s, n, "user") && !nextWordIs(b, i, end, "mapping")))) {
                return true;
            }
            if (prev == 1 || prev == 2) {
                if (is(b, s, n, "on")) {
                    prev = -1;
                    continue;
                }
                if ((prev == 1 && is(b, s, n, "to")) || (prev == 2 && is(b, s, n, "from"))) {
                    return true;
                }
                if (++grantWords > 12) {
                    prev = -1;
                }
                continue;
            }
            if (is(b, s, n, "alter") || is(b, s, n, "create") || is(b, s, n, "drop")) {
                prev = 0;
            } else if (is(b, s, n, "grant")) {
                prev = 1;
                grantWords = 0;
            } else if (is(b, s, n, "revoke")) {
                prev = 2;
                grantWords = 0;
            } else {
                prev = -1;
            }
        }
        return false;
    }

    private static boolean nextWordIs(byte[] b, int i, int end, String w) {
        while (i < end && !isAsciiLetter(b[i])) {
            i++;
        }
        return i + w.length() <= end && Ascii.equalsIgnoreCase(b, i, w)
                && (i + w.length() == end || !isAsciiLetter(b[i + w.length()]));
    }

    private static boolean isAsciiLetter(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean is(byte[] b, int s, int n, String w) {
        return n == w.length() && Ascii.equalsIgnoreCase(b, s, w);
    }
}
