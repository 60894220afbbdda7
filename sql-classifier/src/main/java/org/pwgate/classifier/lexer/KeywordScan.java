package org.pwgate.classifier.lexer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

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
 * <p>Allocation-free; one pass over the bytes, eight at a time where nothing can start.
 */
public final class KeywordScan {
    private KeywordScan() {}

    /** The conservative form: any backslash or U& answers true. */
    public static boolean mayConcernRoles(byte[] b, int off, int len) {
        return scan(b, off, len, true, ROLE_WORDS) == FOUND;
    }

    /** With the session's standard_conforming_strings known. */
    public static boolean mayConcernRoles(byte[] b, int off, int len, boolean standardConformingStrings) {
        int r = scan(b, off, len, !standardConformingStrings, ROLE_WORDS);
        if (r == FOUND) {
            return true;
        }
        // r == BACKSLASH_SEEN: escapes only act inside E'…' when standard_conforming_strings is on.
        return r == BACKSLASH_SEEN && hasEStringPrefix(b, off, len);
    }

    /**
     * For embedded text (a body or literal that may be run as SQL): can a restricted statement
     * start in it? Every one starts with ALTER, CREATE, DROP, GRANT, REVOKE, COMMENT or SECURITY,
     * and a nested literal that holds one holds those words too, unless escapes build them, so
     * any backslash or U& also answers true.
     */
    public static boolean mayStartRoleStatement(byte[] b, int off, int len) {
        return scan(b, off, len, true, START_WORDS) == FOUND;
    }

    private static final int NONE = 0;
    private static final int FOUND = 1;
    private static final int BACKSLASH_SEEN = 2;

    private static final int ROLE_WORDS = 0;
    private static final int START_WORDS = 1;

    /**
     * Every word of ROLE_WORDS holds an 'r' (role, user, group, grant, revoke, rename, password)
     * or a 'v' (valid); every word of START_WORDS holds an 'r' or a 't' (comment). One compare per
     * byte finds both letters in either case: b | 0x24 is 0x76 exactly for r, v, R and V, and
     * b | 0x26 is 0x76 exactly for p, r, t, v, P, R, T and V.
     */
    private static final int ROLE_FOLD = 0x24;
    private static final int START_FOLD = 0x26;
    private static final int LETTER = 0x76;
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long CASE = 0x2020202020202020L;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * Finds candidate bytes eight at a time and looks closely only around them: a keyword is a
     * whole token, so its run holds the keyword's candidate letter; a U&amp; holds an '&amp;'; a
     * backslash is itself a candidate. The answer is the same as {@link #exactScan}'s, which a
     * test checks on random and vocabulary input.
     */
    private static int scan(byte[] b, int off, int len, boolean backslashCounts, int words) {
        int end = off + len;
        int fold = words == ROLE_WORDS ? ROLE_FOLD : START_FOLD;
        long foldAll = fold * ONES;
        boolean backslash = false;
        int i = off;
        while (i < end) {
            int p;
            if (end - i >= 8) {
                long w = (long) LONGS.get(b, i);
                long l = (w | foldAll) ^ (LETTER * ONES);
                long k = w ^ ('\\' * ONES);
                long a = w ^ ('&' * ONES);
                // (v - 1) & ~v has the high bit of each zero byte set (borrows aside), for three v at once.
                long hits = (((l - ONES) & ~l) | ((k - ONES) & ~k) | ((a - ONES) & ~a)) & HIGHS;
                if (hits == 0) {
                    i += 8;
                    continue;
                }
                // The lowest flagged byte is exact; flags above it may be borrows, which only cost a look.
                p = i + (Long.numberOfTrailingZeros(hits) >>> 3);
            } else {
                p = i;
            }
            int c = b[p];
            if ((c | fold) == LETTER) {
                // A keyword would end the run: find the end, then compare the words ending there.
                int e = p + 1;
                while (e < end && isIdent(b[e])) {
                    e++;
                }
                if (e >= 8 ? endsWithWord(b, off, e, words) : exactRunAt(b, off, p, e, words)) {
                    return FOUND;
                }
                i = e;
            } else if (c == '\\') {
                if (backslashCounts) {
                    return FOUND;
                }
                backslash = true;
                i = p + 1;
            } else if (c == '&' && p > off && (b[p - 1] | 0x20) == 'u') {
                return FOUND;
            } else {
                i = p + 1;
            }
        }
        return backslash ? BACKSLASH_SEEN : NONE;
    }

    private static boolean runMatches(byte[] b, int s, int e, boolean inner, int words) {
        int n = e - s;
        return n >= 4 && (inner ? run(b, s, e, words) : n <= 8 && word(b, s, n, words));
    }

    /**
     * The reference scan, byte by byte over runs of identifier bytes ([A-Za-z0-9_$] and >= 0x80).
     * A keyword must end a run (it is followed by a non-identifier byte) and start it, or follow a
     * digit or '$' inside it (a number or a lone '$' ends before an identifier in some versions),
     * so only a few suffixes of each run need a look. Kept for the equivalence test.
     */
    static int exactScan(byte[] b, int off, int len, boolean backslashCounts, int words) {
        int end = off + len;
        boolean backslash = false;
        int i = off;
        while (i < end) {
            int c = b[i];
            if (isIdent(c)) {
                int s = i;
                boolean inner = false;
                do {
                    inner |= c >= 0 && c < 64;
                    i++;
                } while (i < end && isIdent(c = b[i]));
                if (runMatches(b, s, i, inner, words)) {
                    return FOUND;
                }
                if (i < end && b[i] == '&' && i - s == 1 && (b[s] | 0x20) == 'u') {
                    return FOUND;
                }
                continue;
            }
            if (c == '\\') {
                if (backslashCounts) {
                    return FOUND;
                }
                backslash = true;
            } else if (c == '&' && i > off && (b[i - 1] | 0x20) == 'u') {
                return FOUND;
            }
            i++;
        }
        return backslash ? BACKSLASH_SEEN : NONE;
    }

    /** For the equivalence test: scan and exactScan with the same arguments. */
    static int scanForTest(byte[] b, int off, int len, boolean backslashCounts, boolean startWords) {
        return scan(b, off, len, backslashCounts, startWords ? START_WORDS : ROLE_WORDS);
    }

    static int exactScanForTest(byte[] b, int off, int len, boolean backslashCounts, boolean startWords) {
        return exactScan(b, off, len, backslashCounts, startWords ? START_WORDS : ROLE_WORDS);
    }

    /** Identifier bytes 0..63 ('$', '0'-'9') and 64..127 ('A'-'Z', '_', 'a'-'z') as bit sets. */
    private static final long IDENT_LO = (1L << '$') | (0x3FFL << '0');
    private static final long IDENT_HI = (0x3FFFFFFL << ('A' - 64)) | (1L << ('_' - 64)) | (0x3FFFFFFL << ('a' - 64));

    private static boolean isIdent(int c) {
        // A long shift uses the low six bits of c, so one constant serves each half of ASCII.
        return c < 0 || (((c < 64 ? IDENT_LO : IDENT_HI) >>> c) & 1L) != 0;
    }

    private static boolean run(byte[] b, int s, int e, int words) {
        int n = e - s;
        for (int len = 4; len <= 8; len++) {
            if (len > n) {
                return false;
            }
            int p = e - len;
            if (p != s) {
                int prev = b[p - 1];
                if (!((prev >= '0' && prev <= '9') || prev == '$')) {
                    continue;
                }
            }
            if (word(b, p, len, words)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Does a word end at e, start at off or after a byte that is not a letter, '_' or >= 0x80, and
     * lie within [off, e)? The same as {@link #run} over the run that ends at e (a match is all
     * letters, so it lies inside the run). The last eight bytes (e >= 8) are one long, so each
     * word is a compare of its top bytes against the packed word; OR-ing 0x20 folds case, and
     * b | 0x20 equals a lower-case letter only for that letter in either case.
     */
    private static boolean endsWithWord(byte[] b, int off, int e, int words) {
        long t = (long) LONGS.get(b, e - 8) | CASE;
        int room = e - off;
        if (words == ROLE_WORDS) {
            long k4 = t >>> 32;
            long k5 = t >>> 24;
            long k6 = t >>> 16;
            return (room >= 4 && (k4 == P_ROLE || k4 == P_USER) && leftEdge(b, off, e - 4))
                    || (room >= 5 && (k5 == P_GROUP || k5 == P_GRANT || k5 == P_VALID) && leftEdge(b, off, e - 5))
                    || (room >= 6 && (k6 == P_REVOKE || k6 == P_RENAME) && leftEdge(b, off, e - 6))
                    || (room >= 8 && t == P_PASSWORD && leftEdge(b, off, e - 8));
        }
        long k4 = t >>> 32;
        long k5 = t >>> 24;
        long k6 = t >>> 16;
        long k7 = t >>> 8;
        return (room >= 4 && k4 == P_DROP && leftEdge(b, off, e - 4))
                || (room >= 5 && (k5 == P_ALTER || k5 == P_GRANT) && leftEdge(b, off, e - 5))
                || (room >= 6 && (k6 == P_CREATE || k6 == P_REVOKE) && leftEdge(b, off, e - 6))
                || (room >= 7 && k7 == P_COMMENT && leftEdge(b, off, e - 7))
                || (room >= 8 && (t == P_SECURITY || t == P_REASSIGN) && leftEdge(b, off, e - 8));
    }

    /** A keyword may start at q: at the start of the text, or after a byte that does not glue to it. */
    private static boolean leftEdge(byte[] b, int off, int q) {
        return q == off || !wordLeft(b[q - 1]);
    }

    /** Near the array's start: the run through p, found byte by byte, checked as exactScan does. */
    private static boolean exactRunAt(byte[] b, int off, int p, int e, int words) {
        int s = p;
        while (s > off && isIdent(b[s - 1])) {
            s--;
        }
        return e - s >= 4 && run(b, s, e, words);
    }

    private static long pack(String w) {
        long k = 0;
        for (int i = w.length() - 1; i >= 0; i--) {
            k = (k << 8) | w.charAt(i);
        }
        return k;
    }

    private static final long P_ROLE = pack("role");
    private static final long P_USER = pack("user");
    private static final long P_GROUP = pack("group");
    private static final long P_GRANT = pack("grant");
    private static final long P_VALID = pack("valid");
    private static final long P_REVOKE = pack("revoke");
    private static final long P_RENAME = pack("rename");
    private static final long P_PASSWORD = pack("password");
    private static final long P_DROP = pack("drop");
    private static final long P_ALTER = pack("alter");
    private static final long P_CREATE = pack("create");
    private static final long P_COMMENT = pack("comment");
    private static final long P_SECURITY = pack("security");
    private static final long P_REASSIGN = pack("reassign");

    private static boolean word(byte[] b, int p, int len, int words) {
        return words == ROLE_WORDS ? roleWord(b, p, len) : startWord(b, p, len);
    }

    private static boolean roleWord(byte[] b, int p, int len) {
        switch (len) {
            case 4:
                return is(b, p, "role") || is(b, p, "user");
            case 5:
                return is(b, p, "group") || is(b, p, "grant") || is(b, p, "valid");
            case 6:
                return is(b, p, "revoke") || is(b, p, "rename");
            case 8:
                return is(b, p, "password");
            default:
                return false;
        }
    }

    private static boolean startWord(byte[] b, int p, int len) {
        switch (len) {
            case 4:
                return is(b, p, "drop");
            case 5:
                return is(b, p, "alter") || is(b, p, "grant");
            case 6:
                return is(b, p, "create") || is(b, p, "revoke");
            case 7:
                return is(b, p, "comment");
            case 8:
                return is(b, p, "security") || is(b, p, "reassign");
            default:
                return false;
        }
    }

    /** b[p, p+w.length()) equals the lower-case ASCII word w, ignoring ASCII case. */
    private static boolean is(byte[] b, int p, String w) {
        for (int k = 0; k < w.length(); k++) {
            if ((b[p + k] | 0x20) != w.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static boolean wordLeft(int c) {
        return c < 0 || c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
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
