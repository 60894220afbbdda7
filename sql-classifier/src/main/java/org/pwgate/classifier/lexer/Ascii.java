package org.pwgate.classifier.lexer;

/** ASCII-only case handling, as PostgreSQL's keyword lookup and identifier folding do it. */
public final class Ascii {
    private Ascii() {}

    /** True when b[p, p+lower.length()) equals {@code lower} (given in lower case), ignoring ASCII case. */
    public static boolean equalsIgnoreCase(byte[] b, int p, String lower) {
        int n = lower.length();
        if (p < 0 || p + n > b.length) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            int c = b[p + i];
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != lower.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    public static int lower(int c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    }
}
