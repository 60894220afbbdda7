package org.pwgate.classifier.lexer;

import java.io.ByteArrayOutputStream;

/**
 * Decoding of quoted tokens into the value the server sees: '' and "" doubling, continuation
 * pieces, E'…' backslash escapes, U&'…'/U&"…" escapes with their UESCAPE character. Token
 * structure is read from the work bytes (masked for client-only encodings), the bytes copied come
 * from the original text, so multibyte characters survive intact.
 */
public final class Literals {
    private Literals() {}

    /**
     * The value of SCONST or QIDENT token {@code i}, or null when PostgreSQL would reject its
     * escapes. Unicode escapes become UTF-8.
     */
    public static byte[] decodeSconst(byte[] orig, byte[] work, int limit, boolean vtab, Tokens t, int i) {
        int start = t.start(i);
        int end = t.end(i);
        byte mode = t.mode(i);
        if (mode == Tokens.MODE_DOLLAR) {
            int d = t.aux(i);
            byte[] v = new byte[end - start - 2 * d];
            System.arraycopy(orig, start + d, v, 0, v.length);
            return v;
        }
        byte quote = (mode == Tokens.MODE_XD || mode == Tokens.MODE_XUI) ? (byte) '"' : (byte) '\'';
        int p = start;
        while (work[p] != quote) {
            p++;
        }
        p++;
        ByteArrayOutputStream out = new ByteArrayOutputStream(end - p);
        while (p < end) {
            byte c = work[p];
            if (c == quote) {
                if (p + 1 < end && work[p + 1] == quote) {
                    out.write(quote);
                    p += 2;
                    continue;
                }
                if (p + 1 >= end) {
                    break;
                }
                int r = Lexer.continuation(work, p + 1, limit, vtab);
                if (r < 0 || r >= end) {
                    break;
                }
                p = r + 1;
                continue;
            }
            if (c == '\\' && mode == Tokens.MODE_XE) {
                p = escape(orig, work, p, end, out);
                if (p < 0) {
                    return null;
                }
                continue;
            }
            out.write(orig[p]);
            p++;
        }
        byte[] raw = out.toByteArray();
        if (mode == Tokens.MODE_XUS || mode == Tokens.MODE_XUI) {
            return unicodeEscapes(raw, t.aux(i));
        }
        return raw;
    }

    /** One xe escape at {@code p} (the backslash); returns the index after it or -1 if invalid. */
    private static int escape(byte[] orig, byte[] work, int p, int end, ByteArrayOutputStream out) {
        if (p + 1 >= end) {
            return -1;
        }
        int d = work[p + 1] & 0xff;
        switch (d) {
            case 'b': out.write('\b'); return p + 2;
            case 'f': out.write('\f'); return p + 2;
            case 'n': out.write('\n'); return p + 2;
            case 'r': out.write('\r'); return p + 2;
            case 't': out.write('\t'); return p + 2;
            default: break;
        }
        if (d >= '0' && d <= '7') {
            int v = 0;
            int q = p + 1;
            while (q < end && q < p + 4 && work[q] >= '0' && work[q] <= '7') {
                v = v * 8 + (work[q] - '0');
                q++;
            }
            out.write(v & 0xff);
            return q;
        }
        if (d == 'x' && p + 2 < end && hex(work[p + 2]) >= 0) {
            int v = hex(work[p + 2]);
            int q = p + 3;
            if (q < end && hex(work[q]) >= 0) {
                v = v * 16 + hex(work[q]);
                q++;
            }
            out.write(v);
            return q;
        }
        if (d == 'u' || d == 'U') {
            int n = d == 'u' ? 4 : 8;
            int cp = hexRun(work, p + 2, end, n);
            if (cp < 0) {
                return -1;
            }
            int q = p + 2 + n;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                // A high surrogate must be followed by an escaped low surrogate.
                if (q + 1 < end && work[q] == '\\' && (work[q + 1] == 'u' || work[q + 1] == 'U')) {
                    int m = work[q + 1] == 'u' ? 4 : 8;
                    int lo = hexRun(work, q + 2, end, m);
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        return -1;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    q = q + 2 + m;
                } else {
                    return -1;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1;
            }
            if (!utf8(cp, out)) {
                return -1;
            }
            return q;
        }
        out.write(orig[p + 1]);
        return p + 2;
    }

    /** str_udeescape: U& escapes with escape character {@code esc}; null when invalid. */
    static byte[] unicodeEscapes(byte[] raw, int esc) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length);
        int i = 0;
        int n = raw.length;
        while (i < n) {
            int c = raw[i] & 0xff;
            if (c != esc) {
                out.write(c);
                i++;
                continue;
            }
            int[] step = new int[1];
            int cp = unicodeEscape(raw, i, esc, step);
            if (cp == -2) {
                out.write(esc);
                i += 2;
                continue;
            }
            if (cp < 0) {
                return null;
            }
            i += step[0];
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                int lo = i < n && (raw[i] & 0xff) == esc ? unicodeEscape(raw, i, esc, step) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    return null;
                }
                i += step[0];
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return null;
            }
            if (!utf8(cp, out)) {
                return null;
            }
        }
        return out.toByteArray();
    }

    /** The code point of the escape at raw[i] (the escape char); -2 for a doubled escape char, -1 invalid. */
    private static int unicodeEscape(byte[] raw, int i, int esc, int[] step) {
        int n = raw.length;
        if (i + 1 < n && (raw[i + 1] & 0xff) == esc) {
            step[0] = 2;
            return -2;
        }
        int cp = hexRun(raw, i + 1, n, 4);
        if (cp >= 0) {
            step[0] = 5;
            return cp;
        }
        if (i + 1 < n && raw[i + 1] == '+') {
            cp = hexRun(raw, i + 2, n, 6);
            if (cp >= 0) {
                step[0] = 8;
                return cp;
            }
        }
        return -1;
    }

    private static int hexRun(byte[] b, int p, int end, int n) {
        if (p + n > end) {
            return -1;
        }
        int v = 0;
        for (int k = 0; k < n; k++) {
            int h = hex(b[p + k]);
            if (h < 0) {
                return -1;
            }
            v = v * 16 + h;
        }
        return v;
    }

    static int hex(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static boolean utf8(int cp, ByteArrayOutputStream out) {
        if (cp <= 0 || cp > 0x10FFFF) {
            return false;
        }
        if (cp < 0x80) {
            out.write(cp);
        } else if (cp < 0x800) {
            out.write(0xC0 | (cp >> 6));
            out.write(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out.write(0xE0 | (cp >> 12));
            out.write(0x80 | ((cp >> 6) & 0x3F));
            out.write(0x80 | (cp & 0x3F));
        } else {
            out.write(0xF0 | (cp >> 18));
            out.write(0x80 | ((cp >> 12) & 0x3F));
            out.write(0x80 | ((cp >> 6) & 0x3F));
            out.write(0x80 | (cp & 0x3F));
        }
        return true;
    }
}
