package org.pwgate.classifier.lexer;

/**
 * The tokens of one lexed text, as parallel primitive arrays (a 1 MB statement has ~200k tokens;
 * one object per token would dominate the cost). Offsets are absolute indices into the byte array
 * that was lexed. Filled by {@link Lexer}, read-only afterwards.
 */
public final class Tokens {
    /** An unquoted word: a keyword or an identifier (scan.l {identifier}). */
    public static final byte WORD = 1;
    /** A delimited identifier: "…" or U&"…". */
    public static final byte QIDENT = 2;
    /** A string constant: '…', E'…', U&'…', $tag$…$tag$ (the grammar's Sconst). */
    public static final byte SCONST = 3;
    /** B'…' or X'…': no escapes, not an Sconst. */
    public static final byte BITSTR = 4;
    public static final byte NUMBER = 5;
    /** $1, $2, … */
    public static final byte PARAM = 6;
    /** A multi-character operator, '::', ':=', '..' and the like. */
    public static final byte OP = 7;
    /** A single character token: one of scan.l's "self" characters or {other}. */
    public static final byte CHAR = 8;

    /** SCONST/QIDENT quoting modes (scan.l start states). */
    public static final byte MODE_XQ = 1;
    public static final byte MODE_XE = 2;
    public static final byte MODE_XUS = 3;
    public static final byte MODE_DOLLAR = 4;
    public static final byte MODE_XD = 5;
    public static final byte MODE_XUI = 6;

    private byte[] type = new byte[32];
    private byte[] mode = new byte[32];
    private int[] start = new int[32];
    private int[] end = new int[32];
    /** Dollar quotes: delimiter length; U& tokens: the escape character; otherwise 0. */
    private int[] aux = new int[32];
    /** A quoted literal that continues over a newline ('a'\n'b'). */
    private boolean[] continued = new boolean[32];
    private int count;

    int add(byte t, byte m, int s, int e, int a, boolean cont) {
        if (count == type.length) {
            int n = count * 2;
            type = java.util.Arrays.copyOf(type, n);
            mode = java.util.Arrays.copyOf(mode, n);
            start = java.util.Arrays.copyOf(start, n);
            end = java.util.Arrays.copyOf(end, n);
            aux = java.util.Arrays.copyOf(aux, n);
            continued = java.util.Arrays.copyOf(continued, n);
        }
        type[count] = t;
        mode[count] = m;
        start[count] = s;
        end[count] = e;
        aux[count] = a;
        continued[count] = cont;
        return count++;
    }

    void truncate(int n) {
        count = n;
    }

    void setAux(int i, int a) {
        aux[i] = a;
    }

    public int count() {
        return count;
    }

    public byte type(int i) {
        return type[i];
    }

    public byte mode(int i) {
        return mode[i];
    }

    public int start(int i) {
        return start[i];
    }

    public int end(int i) {
        return end[i];
    }

    public int aux(int i) {
        return aux[i];
    }

    public boolean continued(int i) {
        return continued[i];
    }
}
