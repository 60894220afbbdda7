package org.pwgate.classifier.lexer;

/**
 * A mirror of PostgreSQL's {@code src/backend/parser/scan.l} (versions 13–18) plus the UESCAPE
 * lookahead of {@code parser.c}, over bytes in which every byte of a multibyte character is
 * {@code >= 0x80} (raw bytes of a server-safe encoding, or a masked copy for the client-only ones,
 * see {@link PgEncoding}).
 *
 * <p>It only has to find token boundaries and kinds exactly as the server does; values are decoded
 * later, and only where needed ({@link Literals}). Where PostgreSQL raises a lexical error the whole
 * query string is rejected by the server, so we report an error too ({@link LexError}) and the
 * caller fails closed. Where PostgreSQL 15+ reports "trailing junk" after a number and older
 * versions split the token, we split like the older versions: the newer servers reject the text,
 * so only the older behaviour can run.
 *
 * <p>Not thread-confined state: one instance lexes one text; create one per call.
 */
public final class Lexer {
    private final byte[] b;
    private final int limit;
    private final boolean standardConformingStrings;
    private final boolean vtabIsSpace;
    private final Tokens tokens = new Tokens();
    private LexError error;

    private Lexer(byte[] b, int limit, boolean standardConformingStrings, boolean vtabIsSpace) {
        this.b = b;
        this.limit = limit;
        this.standardConformingStrings = standardConformingStrings;
        this.vtabIsSpace = vtabIsSpace;
    }

    /** The outcome of lexing: the tokens, or the first error PostgreSQL would also raise. */
    public record Result(Tokens tokens, LexError error) {
        public boolean ok() {
            return error == null;
        }
    }

    /**
     * Lexes {@code b[from, to)}.
     *
     * @param serverMajor 16 and later treat \v as whitespace
     */
    public static Result lex(byte[] b, int from, int to, boolean standardConformingStrings, int serverMajor) {
        Lexer lx = new Lexer(b, to, standardConformingStrings, serverMajor >= 16);
        lx.run(from);
        return new Result(lx.tokens, lx.error);
    }

    // ---- character classes (scan.l definitions) ----

    boolean isSpace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || (c == 0x0b && vtabIsSpace);
    }

    static boolean isIdentStart(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    static boolean isIdentCont(int c) {
        return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$';
    }

    private static boolean isDolqCont(int c) {
        return isIdentStart(c) || (c >= '0' && c <= '9');
    }

    static boolean isOpChar(int c) {
        switch (c) {
            case '~': case '!': case '@': case '#': case '^': case '&': case '|': case '`': case '?':
            case '+': case '-': case '*': case '/': case '%': case '<': case '>': case '=':
                return true;
            default:
                return false;
        }
    }

    private static boolean isSelf(int c) {
        switch (c) {
            case ',': case '(': case ')': case '[': case ']': case '.': case ';': case ':':
            case '+': case '-': case '*': case '/': case '%': case '^': case '<': case '>': case '=':
                return true;
            default:
                return false;
        }
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private int at(int p) {
        return p < limit ? b[p] & 0xff : -1;
    }

    // ---- the INITIAL state ----

    private void run(int p) {
        int pendingUnicode = -1; // index of a U& token whose UESCAPE lookahead is still open
        while (p < limit && error == null) {
            int c = b[p] & 0xff;
            if (isSpace(c)) {
                p++;
                continue;
            }
            int n = at(p + 1);
            if (c == '-' && n == '-') {
                p = skipLineComment(p);
                continue;
            }
            if (c == '/' && n == '*') {
                p = skipBlockComment(p);
                continue;
            }
            if (pendingUnicode >= 0) {
                // parser.c: a U& token followed by UESCAPE takes the next Sconst as its escape.
                int q = uescape(pendingUnicode, p);
                pendingUnicode = -1;
                if (error != null) {
                    return;
                }
                if (q != p) {
                    p = q;
                    continue;
                }
            }
            int before = tokens.count();
            p = token(p, c, n);
            if (tokens.count() > before) {
                int last = tokens.count() - 1;
                byte m = tokens.mode(last);
                if (m == Tokens.MODE_XUS || m == Tokens.MODE_XUI) {
                    pendingUnicode = last;
                }
            }
        }
        if (pendingUnicode >= 0 && error == null) {
            finishUnicode(pendingUnicode, '\\');
        }
    }

    private int token(int p, int c, int n) {
        switch (c) {
            case '\'':
                return quoted(p, p, standardConformingStrings ? Tokens.MODE_XQ : Tokens.MODE_XE, Tokens.SCONST);
            case '"':
                return delimitedIdent(p, p, Tokens.MODE_XD);
            case '$':
                return dollar(p);
            default:
                break;
        }
        if (n == '\'') {
            switch (c) {
                case 'e': case 'E':
                    return quoted(p, p + 1, Tokens.MODE_XE, Tokens.SCONST);
                case 'b': case 'B': case 'x': case 'X':
                    return quoted(p, p + 1, (byte) 0, Tokens.BITSTR);
                case 'n': case 'N':
                    // xnstart: an NCHAR keyword, then the quote is lexed again as a plain string.
                    tokens.add(Tokens.WORD, (byte) 0, p, p + 1, 0, false);
                    return p + 1;
                default:
                    break;
            }
        }
        if ((c == 'u' || c == 'U') && n == '&') {
            int q = at(p + 2);
            if (q == '\'') {
                if (!standardConformingStrings) {
                    error = LexError.UNSAFE_UNICODE_STRING;
                    return limit;
                }
                return quoted(p, p + 2, Tokens.MODE_XUS, Tokens.SCONST);
            }
            if (q == '"') {
                return delimitedIdent(p, p + 2, Tokens.MODE_XUI);
            }
        }
        if (isIdentStart(c)) {
            int q = p + 1;
            while (q < limit && isIdentCont(b[q] & 0xff)) {
                q++;
            }
            tokens.add(Tokens.WORD, (byte) 0, p, q, 0, false);
            return q;
        }
        if (isDigit(c) || (c == '.' && isDigit(n))) {
            return number(p);
        }
        if (c == ':' && (n == ':' || n == '=')) {
            tokens.add(Tokens.OP, (byte) 0, p, p + 2, 0, false);
            return p + 2;
        }
        if (c == '.' && n == '.') {
            tokens.add(Tokens.OP, (byte) 0, p, p + 2, 0, false);
            return p + 2;
        }
        if (isOpChar(c)) {
            return operator(p);
        }
        tokens.add(Tokens.CHAR, (byte) 0, p, p + 1, 0, false);
        return p + 1;
    }

    private int skipLineComment(int p) {
        int q = p + 2;
        while (q < limit && b[q] != '\n' && b[q] != '\r') {
            q++;
        }
        return q;
    }

    /** Nested C-style comment; returns the index after the closing star-slash. */
    private int skipBlockComment(int p) {
        int depth = 0;
        int q = p + 2;
        while (q < limit) {
            int c = b[q];
            if (c == '/' && q + 1 < limit && b[q + 1] == '*') {
                depth++;
                q += 2;
            } else if (c == '*') {
                int r = q;
                while (r < limit && b[r] == '*') {
                    r++;
                }
                if (r < limit && b[r] == '/') {
                    if (depth == 0) {
                        return r + 1;
                    }
                    depth--;
                    q = r + 1;
                } else {
                    q = r;
                }
            } else {
                q++;
            }
        }
        error = LexError.UNTERMINATED_COMMENT;
        return limit;
    }

    /**
     * A single-quoted literal starting with the quote at {@code quote}; {@code start} is where the
     * token starts (the prefix letter). Handles '' and, in xe, backslash escapes, and the
     * newline continuation ('a'\n'b') in every quoted mode.
     */
    private int quoted(int start, int quote, byte mode, byte type) {
        int q = quote + 1;
        boolean cont = false;
        while (true) {
            if (q >= limit) {
                error = LexError.UNTERMINATED_STRING;
                return limit;
            }
            int c = b[q];
            if (c == '\'') {
                if (type == Tokens.SCONST && q + 1 < limit && b[q + 1] == '\'') {
                    q += 2;
                    continue;
                }
                int r = continuation(q + 1);
                if (r >= 0) {
                    cont = true;
                    q = r + 1;
                    continue;
                }
                tokens.add(type, mode, start, q + 1, mode == Tokens.MODE_XUS ? '\\' : 0, cont);
                return q + 1;
            }
            if (c == '\\' && mode == Tokens.MODE_XE) {
                // Every xe escape consumes the character after the backslash; none consumes more
                // than that which could be a quote.
                q += 2;
                continue;
            }
            q++;
        }
    }

    /**
     * scan.l {quotecontinue}: horizontal whitespace or -- comments, a newline, then whitespace or
     * (-- comment, newline) sequences, then a quote. Returns the index of that quote, or -1.
     */
    int continuation(int p) {
        return continuation(b, p, limit, vtabIsSpace);
    }

    static int continuation(byte[] b, int p, int limit, boolean vtabIsSpace) {
        boolean newline = false;
        int q = p;
        while (q < limit) {
            int c = b[q] & 0xff;
            if (c == '\n' || c == '\r') {
                newline = true;
                q++;
            } else if (c == ' ' || c == '\t' || c == '\f' || (c == 0x0b && vtabIsSpace)) {
                q++;
            } else if (c == '-' && q + 1 < limit && b[q + 1] == '-') {
                q += 2;
                while (q < limit && b[q] != '\n' && b[q] != '\r') {
                    q++;
                }
                if (q >= limit) {
                    return -1;
                }
            } else {
                break;
            }
        }
        return newline && q < limit && b[q] == '\'' ? q : -1;
    }

    private int delimitedIdent(int start, int quote, byte mode) {
        int q = quote + 1;
        while (q < limit) {
            if (b[q] == '"') {
                if (q + 1 < limit && b[q + 1] == '"') {
                    q += 2;
                    continue;
                }
                if (q == quote + 1) {
                    error = LexError.ZERO_LENGTH_IDENTIFIER;
                    return limit;
                }
                tokens.add(Tokens.QIDENT, mode, start, q + 1, mode == Tokens.MODE_XUI ? '\\' : 0, false);
                return q + 1;
            }
            q++;
        }
        error = LexError.UNTERMINATED_IDENTIFIER;
        return limit;
    }

    private int dollar(int p) {
        int n = at(p + 1);
        if (isDigit(n)) {
            int q = p + 1;
            while (q < limit && isDigit(b[q])) {
                q++;
            }
            tokens.add(Tokens.PARAM, (byte) 0, p, q, 0, false);
            return q;
        }
        int q = p + 1;
        if (n == '$') {
            q = p + 1;
        } else if (n >= 0 && isIdentStart(n)) {
            q = p + 2;
            while (q < limit && isDolqCont(b[q] & 0xff)) {
                q++;
            }
            if (q >= limit || b[q] != '$') {
                // dolqfailed: the '$' alone is a token, the rest is lexed again.
                tokens.add(Tokens.CHAR, (byte) 0, p, p + 1, 0, false);
                return p + 1;
            }
        } else {
            tokens.add(Tokens.CHAR, (byte) 0, p, p + 1, 0, false);
            return p + 1;
        }
        int delimLen = q + 1 - p;
        int close = indexOf(p, delimLen, q + 1);
        if (close < 0) {
            error = LexError.UNTERMINATED_DOLLAR_QUOTE;
            return limit;
        }
        tokens.add(Tokens.SCONST, Tokens.MODE_DOLLAR, p, close + delimLen, delimLen, false);
        return close + delimLen;
    }

    /**
     * The first occurrence of the delimiter b[d, d+len) at or after {@code from}. A plain substring
     * search finds the same closing delimiter as scan.l's rescanning of mismatched $…$ sequences:
     * a mismatched delimiter is given back except for its last '$', which may begin the real one.
     */
    private int indexOf(int d, int len, int from) {
        byte first = b[d];
        outer:
        for (int i = from; i <= limit - len; i++) {
            if (b[i] != first) {
                continue;
            }
            for (int k = 1; k < len; k++) {
                if (b[i + k] != b[d + k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private int number(int p) {
        int q = p;
        while (q < limit && (isDigit(b[q]) || b[q] == '_')) {
            q++;
        }
        if (q < limit && b[q] == '.' && !(q + 1 < limit && b[q + 1] == '.')) {
            q++;
            while (q < limit && (isDigit(b[q]) || b[q] == '_')) {
                q++;
            }
        }
        if (q < limit && (b[q] == 'e' || b[q] == 'E')) {
            int r = q + 1;
            if (r < limit && (b[r] == '+' || b[r] == '-')) {
                r++;
            }
            if (r < limit && isDigit(b[r])) {
                q = r;
                while (q < limit && isDigit(b[q])) {
                    q++;
                }
            }
        }
        tokens.add(Tokens.NUMBER, (byte) 0, p, q, 0, false);
        return q;
    }

    private int operator(int p) {
        int q = p + 1;
        while (q < limit && isOpChar(b[q] & 0xff)) {
            // An embedded comment start ends the operator.
            if ((b[q] == '*' && b[q - 1] == '/') || (b[q] == '-' && b[q - 1] == '-')) {
                q--;
                break;
            }
            q++;
        }
        int n = q - p;
        while (n > 1 && (b[p + n - 1] == '+' || b[p + n - 1] == '-')) {
            boolean special = false;
            for (int i = p; i < p + n - 1; i++) {
                int c = b[i];
                if (c == '~' || c == '!' || c == '@' || c == '#' || c == '^' || c == '&' || c == '|' || c == '`'
                        || c == '?' || c == '%') {
                    special = true;
                    break;
                }
            }
            if (special) {
                break;
            }
            n--;
        }
        if (n == 1 && isSelf(b[p])) {
            tokens.add(Tokens.CHAR, (byte) 0, p, p + 1, 0, false);
        } else {
            tokens.add(Tokens.OP, (byte) 0, p, p + n, 0, false);
        }
        return p + n;
    }

    // ---- UESCAPE (parser.c) ----

    /**
     * At {@code p} (the next non-blank byte after a U& token): if the word UESCAPE is there, lex
     * the following Sconst, check it is one valid escape character and record it on the U& token.
     * Returns the position after what was consumed, or {@code p} if there is no UESCAPE.
     */
    private int uescape(int unicodeToken, int p) {
        int q = p;
        while (q < limit && isIdentCont(b[q] & 0xff)) {
            q++;
        }
        if (q - p != 7 || !Ascii.equalsIgnoreCase(b, p, "uescape")) {
            finishUnicode(unicodeToken, '\\');
            return p;
        }
        // Next token must be a plain Sconst.
        while (q < limit && error == null) {
            int c = b[q] & 0xff;
            if (isSpace(c)) {
                q++;
            } else if (c == '-' && at(q + 1) == '-') {
                q = skipLineComment(q);
            } else if (c == '/' && at(q + 1) == '*') {
                q = skipBlockComment(q);
            } else {
                break;
            }
        }
        if (error != null) {
            return limit;
        }
        int c = at(q);
        int before = tokens.count();
        int after;
        if (c == '\'') {
            after = quoted(q, q, standardConformingStrings ? Tokens.MODE_XQ : Tokens.MODE_XE, Tokens.SCONST);
        } else if ((c == 'e' || c == 'E') && at(q + 1) == '\'') {
            after = quoted(q, q + 1, Tokens.MODE_XE, Tokens.SCONST);
        } else if (c == '$' && !isDigit(at(q + 1))) {
            after = dollar(q);
        } else {
            error = LexError.INVALID_UESCAPE;
            return limit;
        }
        if (error != null) {
            return limit;
        }
        if (tokens.count() == before || tokens.type(before) != Tokens.SCONST) {
            error = LexError.INVALID_UESCAPE;
            return limit;
        }
        byte[] value = Literals.decodeSconst(b, b, limit, vtabIsSpace, tokens, before);
        tokens.truncate(before);
        if (value == null || value.length != 1 || !validEscapeChar(value[0] & 0xff)) {
            error = LexError.INVALID_UESCAPE;
            return limit;
        }
        finishUnicode(unicodeToken, value[0] & 0xff);
        return after;
    }

    private boolean validEscapeChar(int c) {
        return !(isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '+' || c == '\'' || c == '"'
                || isSpace(c) || c == 0x0b);
    }

    private void finishUnicode(int token, int escape) {
        tokens.setAux(token, escape);
        if (Literals.decodeSconst(b, b, limit, vtabIsSpace, tokens, token) == null) {
            error = LexError.INVALID_UNICODE_ESCAPE;
        }
    }
}
