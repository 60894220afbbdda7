package org.pwgate.classifier.parser;

import java.nio.charset.StandardCharsets;
import org.pwgate.classifier.RoleSpec;
import org.pwgate.classifier.lexer.Ascii;
import org.pwgate.classifier.lexer.Literals;
import org.pwgate.classifier.lexer.PgEncoding;
import org.pwgate.classifier.lexer.Tokens;

/**
 * A lexed text and the token-level questions the splitter and parser ask of it. {@code orig} is the
 * text as given, {@code work} the copy that was lexed (the same array unless the encoding is
 * client-only); token offsets index both.
 */
final class LexedText {
    final byte[] orig;
    final byte[] work;
    final int from;
    final int to;
    final int serverMajor;
    final PgEncoding encoding;
    final Tokens t;
    final int n;

    LexedText(byte[] orig, byte[] work, int from, int to, int serverMajor, PgEncoding encoding, Tokens t) {
        this.orig = orig;
        this.work = work;
        this.from = from;
        this.to = to;
        this.serverMajor = serverMajor;
        this.encoding = encoding;
        this.t = t;
        this.n = t.count();
    }

    /** Token i is the unquoted keyword (or identifier) {@code lower}. Quoted identifiers never are keywords. */
    boolean kw(int i, String lower) {
        return i >= 0 && i < n && t.type(i) == Tokens.WORD && t.end(i) - t.start(i) == lower.length()
                && Ascii.equalsIgnoreCase(work, t.start(i), lower);
    }

    boolean ch(int i, char c) {
        return i >= 0 && i < n && t.type(i) == Tokens.CHAR && work[t.start(i)] == c;
    }

    boolean type(int i, byte type) {
        return i >= 0 && i < n && t.type(i) == type;
    }

    boolean isName(int i) {
        return type(i, Tokens.WORD) || type(i, Tokens.QIDENT);
    }

    boolean isSconst(int i) {
        return type(i, Tokens.SCONST);
    }

    /** The value of an SCONST or QIDENT token, or null when its escapes are invalid. */
    byte[] value(int i) {
        return Literals.decodeSconst(orig, work, to, serverMajor >= 16, t, i);
    }

    /**
     * The literal's value as the server holds it, for lexing again: PostgreSQL converts the text
     * from the client's encoding to its own before it lexes, so in a client-only encoding (SJIS,
     * BIG5, …) a character's trailing byte is never a quote or backslash there, while escapes
     * ({@code \x5c}) give the bytes they name. So each multibyte character comes as its masked
     * bytes (no ASCII byte among them) and escapes as their bytes. Lex the result as UTF-8-like
     * (no masking); names in it are not the client's, but it is byte for byte where {@link #value}
     * is (both decode the same token, one output byte per input byte outside escapes), so names
     * are read there.
     */
    byte[] serverValue(int i) {
        return Literals.decodeSconst(work, work, to, serverMajor >= 16, t, i);
    }

    /**
     * The role a name token denotes: CURRENT_USER, SESSION_USER, CURRENT_ROLE (unquoted keywords
     * only), PUBLIC (quoted or not: gram.y compares the string), or a folded, truncated name.
     */
    RoleSpec roleSpec(int i) {
        if (t.type(i) == Tokens.WORD) {
            if (kw(i, "current_user")) {
                return new RoleSpec(RoleSpec.Special.CURRENT_USER, null);
            }
            if (kw(i, "session_user")) {
                return new RoleSpec(RoleSpec.Special.SESSION_USER, null);
            }
            if (kw(i, "current_role")) {
                return new RoleSpec(RoleSpec.Special.CURRENT_ROLE, null);
            }
            if (kw(i, "public")) {
                return new RoleSpec(RoleSpec.Special.PUBLIC, null);
            }
            return RoleSpec.named(encoding.name(folded(i)));
        }
        byte[] v = value(i);
        if (v == null) {
            v = new byte[0];
        }
        if (v.length == 6 && new String(v, StandardCharsets.US_ASCII).equals("public")) {
            return new RoleSpec(RoleSpec.Special.PUBLIC, null);
        }
        return RoleSpec.named(encoding.name(v));
    }

    /** An unquoted identifier folded as downcase_identifier does: A–Z only, never a trailing byte. */
    byte[] folded(int i) {
        int s = t.start(i);
        int e = t.end(i);
        byte[] out = new byte[e - s];
        for (int k = s; k < e; k++) {
            int w = work[k];
            out[k - s] = (w >= 'A' && w <= 'Z') ? (byte) (w + ('a' - 'A')) : orig[k];
        }
        return out;
    }

    /** Lower-case text of a word token, for joining multi-word privilege names. */
    String word(int i) {
        return new String(folded(i), StandardCharsets.ISO_8859_1);
    }
}
