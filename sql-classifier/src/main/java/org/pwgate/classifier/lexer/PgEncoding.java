package org.pwgate.classifier.lexer;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A PostgreSQL client encoding, as far as lexing is concerned.
 *
 * <p>The server converts the client's bytes to the server encoding before lexing. In every
 * server-safe encoding each byte of a multibyte character is {@code >= 0x80}, so lexing the raw
 * bytes gives the same tokens. The seven client-only encodings (SJIS, SHIFT_JIS_2004, BIG5, GBK,
 * UHC, GB18030, JOHAB) have trailing bytes in the ASCII range ({@code \}, {@code '} …): for them
 * {@link #mask} checks each character the way {@code pg_encoding_verifymbchar} does and replaces
 * its trailing bytes by 0xFF in a working copy (offsets unchanged), which is what the lexer would
 * see after conversion: one identifier-class byte run per character.
 */
public final class PgEncoding {
    private enum Family { SINGLE, UTF8, EUC_SAFE, SJIS, BIG5_LIKE, GB18030, JOHAB }

    private static final Map<String, PgEncoding> BY_NAME = table();

    private final String name;
    private final Family family;
    private final Charset charset;

    private PgEncoding(String name, Family family, Charset charset) {
        this.name = name;
        this.family = family;
        this.charset = charset;
    }

    /** The encoding for a client_encoding value (canonical name or alias, any case), or null if unknown. */
    public static PgEncoding lookup(String clientEncoding) {
        if (clientEncoding == null) {
            return null;
        }
        PgEncoding exact = BY_NAME.get(clientEncoding);
        if (exact != null) {
            return exact; // the canonical name, as ParameterStatus reports it
        }
        // PostgreSQL's pg_char_to_encoding ignores case and non-alphanumerics.
        StringBuilder key = new StringBuilder(clientEncoding.length());
        for (int i = 0; i < clientEncoding.length(); i++) {
            char c = clientEncoding.charAt(i);
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                key.append(Character.toLowerCase(c));
            }
        }
        return BY_NAME.get(key.toString());
    }

    public String name() {
        return name;
    }

    public boolean clientOnly() {
        return family == Family.SJIS || family == Family.BIG5_LIKE || family == Family.GB18030 || family == Family.JOHAB;
    }

    /** UTF8 or SQL_ASCII: names are taken as UTF-8 bytes. */
    public boolean utf8Like() {
        return family == Family.UTF8;
    }

    /**
     * For a client-only encoding: a copy of b[from, to) positions with every trailing byte of a
     * multibyte character replaced by 0xFF, or null if a character is invalid or truncated.
     * For other encodings: {@code b} itself.
     */
    public byte[] mask(byte[] b, int from, int to) {
        if (!clientOnly()) {
            return b;
        }
        byte[] w = b.clone();
        int p = from;
        while (p < to) {
            int c = b[p] & 0xff;
            if (c < 0x80) {
                p++;
                continue;
            }
            int len = charLength(b, p, to);
            if (len < 0) {
                return null;
            }
            for (int k = 1; k < len; k++) {
                w[p + k] = (byte) 0xFF;
            }
            p += len;
        }
        return w;
    }

    /** Length of the valid character at b[p] (high bit set), or -1 (pg_*_verifychar). */
    private int charLength(byte[] b, int p, int to) {
        int c = b[p] & 0xff;
        int rem = to - p;
        switch (family) {
            case SJIS: {
                if (c >= 0xa1 && c <= 0xdf) {
                    return 1; // half-width katakana
                }
                if (rem < 2) {
                    return -1;
                }
                int t = b[p + 1] & 0xff;
                boolean head = (c >= 0x81 && c <= 0x9f) || (c >= 0xe0 && c <= 0xfc);
                boolean tail = (t >= 0x40 && t <= 0x7e) || (t >= 0x80 && t <= 0xfc);
                return head && tail ? 2 : -1;
            }
            case BIG5_LIKE: {
                if (rem < 2 || b[p + 1] == 0) {
                    return -1;
                }
                return 2;
            }
            case GB18030: {
                if (rem >= 4 && (b[p + 1] & 0xff) >= 0x30 && (b[p + 1] & 0xff) <= 0x39) {
                    int c2 = b[p + 2] & 0xff;
                    int c3 = b[p + 3] & 0xff;
                    return c >= 0x81 && c <= 0xfe && c2 >= 0x81 && c2 <= 0xfe && c3 >= 0x30 && c3 <= 0x39 ? 4 : -1;
                }
                if (rem >= 2 && c >= 0x81 && c <= 0xfe) {
                    int t = b[p + 1] & 0xff;
                    return (t >= 0x40 && t <= 0x7e) || (t >= 0x80 && t <= 0xfe) ? 2 : -1;
                }
                return -1;
            }
            case JOHAB: {
                int len = c == 0x8e ? 2 : c == 0x8f ? 3 : 2;
                if (rem < len) {
                    return -1;
                }
                for (int k = 1; k < len; k++) {
                    int t = b[p + k] & 0xff;
                    if (t < 0xa1 || t > 0xfe) {
                        return -1;
                    }
                }
                return len;
            }
            default:
                return 1;
        }
    }

    /**
     * A role name from identifier bytes in this encoding, truncated to 63 bytes the way the server
     * does (pg_mbcliplen, never splitting a character). The server truncates in its own encoding;
     * we assume a UTF8 server, so non-UTF-8 client text is converted to UTF-8 first.
     */
    public String name(byte[] bytes) {
        if (family == Family.UTF8) {
            return new String(bytes, 0, clipUtf8(bytes, bytes.length, 63), StandardCharsets.UTF_8);
        }
        boolean ascii = true;
        for (byte x : bytes) {
            if (x < 0) {
                ascii = false;
                break;
            }
        }
        String s = new String(bytes, ascii ? StandardCharsets.US_ASCII : charset);
        if (ascii) {
            return s.length() > 63 ? s.substring(0, 63) : s;
        }
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        return new String(u, 0, clipUtf8(u, u.length, 63), StandardCharsets.UTF_8);
    }

    /** Decodes text in this encoding for logging (invalid bytes become U+FFFD). */
    public String decode(byte[] b, int from, int len) {
        return new String(b, from, len, charset);
    }

    private static int clipUtf8(byte[] s, int len, int limit) {
        int clen = 0;
        int p = 0;
        while (p < len && s[p] != 0) {
            int c = s[p] & 0xff;
            int l = (c & 0x80) == 0 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
            if (clen + l > limit) {
                break;
            }
            clen += l;
            if (clen == limit) {
                break;
            }
            p += l;
        }
        return Math.min(clen, len);
    }

    private static Map<String, PgEncoding> table() {
        Map<String, PgEncoding> m = new HashMap<>();
        add(m, "SQL_ASCII", Family.UTF8, "UTF-8");
        add(m, "UTF8", Family.UTF8, "UTF-8", "UNICODE");
        add(m, "EUC_JP", Family.EUC_SAFE, "EUC-JP");
        add(m, "EUC_CN", Family.EUC_SAFE, "GB2312");
        add(m, "EUC_KR", Family.EUC_SAFE, "EUC-KR");
        add(m, "EUC_TW", Family.EUC_SAFE, "x-EUC-TW");
        add(m, "EUC_JIS_2004", Family.EUC_SAFE, "EUC-JP");
        add(m, "MULE_INTERNAL", Family.EUC_SAFE, "ISO-8859-1");
        add(m, "LATIN1", Family.SINGLE, "ISO-8859-1", "ISO88591");
        add(m, "LATIN2", Family.SINGLE, "ISO-8859-2", "ISO88592");
        add(m, "LATIN3", Family.SINGLE, "ISO-8859-3", "ISO88593");
        add(m, "LATIN4", Family.SINGLE, "ISO-8859-4", "ISO88594");
        add(m, "LATIN5", Family.SINGLE, "ISO-8859-9", "ISO88599");
        add(m, "LATIN6", Family.SINGLE, "ISO-8859-10", "ISO885910");
        add(m, "LATIN7", Family.SINGLE, "ISO-8859-13", "ISO885913");
        add(m, "LATIN8", Family.SINGLE, "ISO-8859-14", "ISO885914");
        add(m, "LATIN9", Family.SINGLE, "ISO-8859-15", "ISO885915");
        add(m, "LATIN10", Family.SINGLE, "ISO-8859-16", "ISO885916");
        add(m, "ISO_8859_5", Family.SINGLE, "ISO-8859-5");
        add(m, "ISO_8859_6", Family.SINGLE, "ISO-8859-6");
        add(m, "ISO_8859_7", Family.SINGLE, "ISO-8859-7");
        add(m, "ISO_8859_8", Family.SINGLE, "ISO-8859-8");
        add(m, "WIN866", Family.SINGLE, "IBM866", "ALT");
        add(m, "WIN874", Family.SINGLE, "x-windows-874");
        add(m, "WIN1250", Family.SINGLE, "windows-1250");
        add(m, "WIN1251", Family.SINGLE, "windows-1251", "WIN");
        add(m, "WIN1252", Family.SINGLE, "windows-1252");
        add(m, "WIN1253", Family.SINGLE, "windows-1253");
        add(m, "WIN1254", Family.SINGLE, "windows-1254");
        add(m, "WIN1255", Family.SINGLE, "windows-1255");
        add(m, "WIN1256", Family.SINGLE, "windows-1256");
        add(m, "WIN1257", Family.SINGLE, "windows-1257");
        add(m, "WIN1258", Family.SINGLE, "windows-1258", "ABC", "TCVN", "TCVN5712", "VSCII");
        add(m, "KOI8R", Family.SINGLE, "KOI8-R", "KOI8");
        add(m, "KOI8U", Family.SINGLE, "KOI8-U");
        add(m, "SJIS", Family.SJIS, "windows-31j", "SHIFTJIS", "MSKANJI", "WIN932");
        add(m, "SHIFT_JIS_2004", Family.SJIS, "x-SJIS_0213");
        add(m, "BIG5", Family.BIG5_LIKE, "Big5", "WIN950");
        add(m, "GBK", Family.BIG5_LIKE, "GBK", "WIN936");
        add(m, "UHC", Family.BIG5_LIKE, "x-windows-949", "WIN949");
        add(m, "GB18030", Family.GB18030, "GB18030");
        add(m, "JOHAB", Family.JOHAB, "x-Johab");
        return Map.copyOf(m);
    }

    private static void add(Map<String, PgEncoding> m, String name, Family family, String javaName, String... aliases) {
        Charset cs;
        try {
            cs = Charset.forName(javaName);
        } catch (RuntimeException e) {
            // A JDK without this charset: names keep their bytes one to one (never equal to an ASCII name by accident).
            cs = StandardCharsets.ISO_8859_1;
        }
        PgEncoding enc = new PgEncoding(name, family, cs);
        m.put(key(name), enc);
        m.put(name, enc);
        for (String a : aliases) {
            m.put(key(a), enc);
        }
    }

    private static String key(String s) {
        return s.replaceAll("[^A-Za-z0-9]", "").toLowerCase(Locale.ROOT);
    }
}
