package org.pwgate.config;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Checks for role names and role option lists written in the config. The proxy splices
 * {@code bootstrap.users[].attributes} into CREATE/ALTER ROLE, so only a whitelist of option
 * keywords gets through: anything else, including a quote or a semicolon outside a VALID UNTIL
 * literal, is refused here rather than escaped later.
 */
final class RoleSyntax {
    private RoleSyntax() {}

    /** PostgreSQL's NAMEDATALEN is 64 including the terminating zero byte. */
    static final int MAX_NAME_BYTES = 63;

    private static final Set<String> KEYWORDS = Set.of(
            "LOGIN", "NOLOGIN", "SUPERUSER", "NOSUPERUSER", "CREATEDB", "NOCREATEDB",
            "CREATEROLE", "NOCREATEROLE", "INHERIT", "NOINHERIT", "REPLICATION", "NOREPLICATION",
            "BYPASSRLS", "NOBYPASSRLS");

    /**
     * Role names are kept exactly as written and compared with pg_authid.rolname, which is
     * case-sensitive: {@code App} and {@code app} are different roles, as in a quoted identifier.
     */
    static Optional<String> nameProblem(String name) {
        if (name.isEmpty()) {
            return Optional.of("a role name must not be empty");
        }
        if (name.indexOf('\0') >= 0) {
            return Optional.of("a role name must not contain a zero byte");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            return Optional.of("a role name must be at most " + MAX_NAME_BYTES + " bytes (PostgreSQL's NAMEDATALEN - 1)");
        }
        return Optional.empty();
    }

    /** Empty when {@code text} is a list of whitelisted role options; otherwise what is wrong. */
    static Optional<String> attributesProblem(String text) {
        Lexer lx = new Lexer(text);
        while (true) {
            lx.skipBlanks();
            if (lx.atEnd()) {
                return Optional.empty();
            }
            String word = lx.word();
            if (word.isEmpty()) {
                return Optional.of("unexpected character at position " + (lx.pos + 1) + "; " + allowed());
            }
            String kw = word.toUpperCase(Locale.ROOT);
            if (KEYWORDS.contains(kw)) {
                continue;
            }
            switch (kw) {
                case "CONNECTION" -> {
                    lx.skipBlanks();
                    if (!lx.word().equalsIgnoreCase("LIMIT")) {
                        return Optional.of("CONNECTION must be followed by LIMIT n");
                    }
                    lx.skipBlanks();
                    if (!lx.integer()) {
                        return Optional.of("CONNECTION LIMIT needs an integer (-1 for no limit)");
                    }
                }
                case "VALID" -> {
                    lx.skipBlanks();
                    if (!lx.word().equalsIgnoreCase("UNTIL")) {
                        return Optional.of("VALID must be followed by UNTIL '<timestamp>'");
                    }
                    lx.skipBlanks();
                    if (!lx.timestampLiteral()) {
                        return Optional.of("VALID UNTIL needs a quoted timestamp such as 'infinity' or '2030-01-01 00:00:00+00'");
                    }
                }
                case "PASSWORD", "ENCRYPTED", "UNENCRYPTED" ->
                        { return Optional.of("passwords go in the password key, not in attributes"); }
                default -> { return Optional.of("'" + word + "' is not an allowed role option; " + allowed()); }
            }
        }
    }

    private static String allowed() {
        return "allowed: " + String.join(", ", KEYWORDS.stream().sorted().toList())
                + ", CONNECTION LIMIT n, VALID UNTIL '<timestamp>'";
    }

    private static final class Lexer {
        private final String s;
        private int pos;

        Lexer(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return pos >= s.length();
        }

        void skipBlanks() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t' || s.charAt(pos) == '\n')) {
                pos++;
            }
        }

        String word() {
            int start = pos;
            while (pos < s.length() && isAsciiLetter(s.charAt(pos))) {
                pos++;
            }
            return s.substring(start, pos);
        }

        boolean integer() {
            int start = pos;
            if (pos < s.length() && s.charAt(pos) == '-') {
                pos++;
            }
            int digits = pos;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                pos++;
            }
            boolean ok = pos > digits && pos - digits <= 9 && endsToken();
            if (!ok) {
                pos = start;
            }
            return ok;
        }

        /** A single-quoted literal holding only what timestamps and 'infinity' need. */
        boolean timestampLiteral() {
            if (pos >= s.length() || s.charAt(pos) != '\'') {
                return false;
            }
            int i = pos + 1;
            while (i < s.length() && s.charAt(i) != '\'') {
                char c = s.charAt(i);
                boolean ok = isAsciiLetter(c) || (c >= '0' && c <= '9') || c == ' ' || c == ':' || c == '-'
                        || c == '+' || c == '.' || c == '/';
                if (!ok) {
                    return false;
                }
                i++;
            }
            if (i >= s.length() || i == pos + 1) {
                return false;
            }
            pos = i + 1;
            return endsToken();
        }

        private boolean endsToken() {
            return pos >= s.length() || s.charAt(pos) == ' ' || s.charAt(pos) == '\t' || s.charAt(pos) == '\n';
        }

        private static boolean isAsciiLetter(char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        }
    }
}
