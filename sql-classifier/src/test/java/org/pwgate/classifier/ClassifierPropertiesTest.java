package org.pwgate.classifier;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Generated spellings of restricted statements stay restricted; random input never breaks the
 * classifier; the fast path never answers "no" where the full classifier finds something.
 */
class ClassifierPropertiesTest {

    /** A restricted statement as words: K: keyword, N: role name, S: string literal. */
    record Template(Kind kind, String target, List<String> words) {}

    static final List<Template> TEMPLATES = List.of(
            new Template(Kind.PASSWORD, "alice", List.of("K:alter", "K:role", "N:alice", "K:password", "S:s3cr3t")),
            new Template(Kind.PASSWORD, "alice", List.of("K:alter", "K:user", "N:alice", "K:with", "K:encrypted", "K:password", "S:s3cr3t")),
            new Template(Kind.PASSWORD, "newrole", List.of("K:create", "K:role", "N:newrole", "K:login", "K:password", "S:s3cr3t")),
            new Template(Kind.PASSWORD, "newrole", List.of("K:create", "K:group", "N:newrole", "K:password", "K:null")),
            new Template(Kind.VALID_UNTIL, "alice", List.of("K:alter", "K:role", "N:alice", "K:valid", "K:until", "S:infinity")),
            new Template(Kind.RENAME, "alice", List.of("K:alter", "K:role", "N:alice", "K:rename", "K:to", "N:bob")),
            new Template(Kind.MEMBERSHIP, "rds_password", List.of("K:grant", "N:rds_password", "K:to", "N:alice")),
            new Template(Kind.MEMBERSHIP, "rds_password", List.of("K:revoke", "N:rds_password", "K:from", "N:alice")),
            new Template(Kind.MEMBERSHIP, "rds_password", List.of("K:alter", "K:group", "N:rds_password", "K:add", "K:user", "N:alice")),
            new Template(Kind.MEMBERSHIP, "rds_password", List.of("K:create", "K:role", "N:newrole", "K:in", "K:role", "N:rds_password")),
            new Template(Kind.ROLE_OTHER, "rdsadmin", List.of("K:drop", "K:role", "K:if", "K:exists", "N:rdsadmin")),
            new Template(Kind.ROLE_OTHER, "rdsadmin", List.of("K:alter", "K:role", "N:rdsadmin", "K:superuser")));

    record Spelled(Template template, byte[] sql, LexSettings settings, String how) {
        @Override
        public String toString() {
            return how + " :: " + new String(sql, StandardCharsets.ISO_8859_1);
        }
    }

    @Provide
    Arbitrary<Spelled> restricted() {
        return Combinators.combine(Arbitraries.of(TEMPLATES), Arbitraries.longs(), Arbitraries.of(15, 16, 17),
                Arbitraries.of(true, false)).as(ClassifierPropertiesTest::spell);
    }

    static Spelled spell(Template t, long seed, int major, boolean sc) {
        Random r = new Random(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StringBuilder how = new StringBuilder();
        for (int i = 0; i < t.words().size(); i++) {
            String w = t.words().get(i);
            if (i > 0 || r.nextInt(4) == 0) {
                separator(r, major, out);
            }
            String v = w.substring(2);
            switch (w.charAt(0)) {
                case 'K' -> write(out, randomCase(r, v));
                case 'N' -> name(r, v, out, how);
                default -> literal(r, v, sc, out, how);
            }
        }
        if (r.nextBoolean()) {
            separator(r, major, out);
            write(out, ";");
        }
        return new Spelled(t, out.toByteArray(), new LexSettings(sc, "UTF8", major), how.toString());
    }

    static void separator(Random r, int major, ByteArrayOutputStream out) {
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(major >= 16 ? 8 : 7)) {
                case 0 -> out.write(' ');
                case 1 -> out.write('\t');
                case 2 -> out.write('\n');
                case 3 -> out.write('\r');
                case 4 -> out.write('\f');
                case 5 -> write(out, "/* c; 'x' \"y\" $$ */");
                case 6 -> write(out, r.nextBoolean() ? "/* a /* b; */ c */" : "-- c; ' \" $$\n");
                default -> out.write(0x0b);
            }
        }
    }

    static void name(Random r, String v, ByteArrayOutputStream out, StringBuilder how) {
        switch (r.nextInt(4)) {
            case 0 -> write(out, randomCase(r, v));
            case 1 -> write(out, "\"" + v + "\"");
            case 2 -> {
                write(out, "U&\"\\" + String.format("%04x", (int) v.charAt(0)) + v.substring(1) + "\"");
                how.append("U&ident ");
            }
            default -> {
                write(out, "U&\"!" + String.format("%04X", (int) v.charAt(0)) + v.substring(1) + "\" UESCAPE '!'");
                how.append("U&ident-uescape ");
            }
        }
    }

    static void literal(Random r, String v, boolean sc, ByteArrayOutputStream out, StringBuilder how) {
        switch (r.nextInt(sc ? 7 : 6)) {
            case 0 -> write(out, "'" + v + "'");
            case 1 -> write(out, "E'" + v.charAt(0) + "\\x" + Integer.toHexString(v.charAt(1)) + v.substring(2) + "'");
            case 2 -> write(out, "$$" + v + "$$");
            case 3 -> write(out, "$tag_1$" + v + "$tag_1$");
            case 4 -> write(out, "'" + v.charAt(0) + "'\n -- c\n'" + v.substring(1) + "'");
            case 5 -> write(out, "e'it\\'s" + v + "'");
            default -> write(out, "U&'\\" + String.format("%04x", (int) v.charAt(0)) + v.substring(1) + "'");
        }
        how.append("literal ");
    }

    static String randomCase(Random r, String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            b.append(r.nextBoolean() ? Character.toUpperCase(c) : c);
        }
        return b.toString();
    }

    static void write(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 600)
    void restrictedStatementsStayRestricted(@ForAll("restricted") Spelled s) {
        assertTrue(Classifier.mayConcernRoles(s.sql(), 0, s.sql().length), "fast path: " + s);
        Classification c = Classifier.classify(s.sql(), 0, s.sql().length, s.settings());
        assertTrue(c.statements().size() == 1, "one statement: " + c + " for " + s);
        Statement st = c.statements().get(0);
        assertTrue(st.is(s.template().kind()), st.kinds() + " for " + s);
        assertTrue(st.targets().stream().anyMatch(t -> t.isNamed(s.template().target())), st.targets() + " for " + s);
    }

    @Property(tries = 300)
    void restrictedStatementsInsideBodiesAreEmbedded(@ForAll("restricted") Spelled s) {
        String body = new String(s.sql(), StandardCharsets.UTF_8);
        byte[] sql = ("DO $pw$BEGIN " + body + (body.endsWith(";") ? "" : ";") + " END$pw$").getBytes(StandardCharsets.UTF_8);
        Classification c = Classifier.classify(sql, 0, sql.length, s.settings());
        assertTrue(c.statements().size() == 1 && c.statements().get(0).is(Kind.EMBEDDED), c + " for " + s);
    }

    /** Characters of client-only encodings whose trailing byte is a backslash. */
    @Provide
    Arbitrary<String[]> backslashTrail() {
        return Arbitraries.of(new String[] {"SJIS", "95 5c"}, new String[] {"SJIS", "83 5c"},
                new String[] {"SHIFT_JIS_2004", "95 5c"}, new String[] {"BIG5", "b3 5c"}, new String[] {"GBK", "81 5c"},
                new String[] {"GB18030", "81 5c"}, new String[] {"UHC", "81 5c"});
    }

    @Property(tries = 300)
    void backslashTrailBytesNeverHideAStatement(@ForAll("restricted") Spelled s, @ForAll("backslashTrail") String[] enc,
                                                @ForAll boolean eString) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        write(out, eString ? "SELECT E'" : "SELECT '");
        for (String h : enc[1].split(" ")) {
            out.write(Integer.parseInt(h, 16));
        }
        write(out, "';\n");
        out.writeBytes(s.sql());
        byte[] sql = out.toByteArray();
        LexSettings settings = new LexSettings(s.settings().standardConformingStrings(), enc[0], s.settings().serverMajor());
        Classification c = Classifier.classify(sql, 0, sql.length, settings);
        assertTrue(c.statements().stream().anyMatch(st -> st.is(s.template().kind()) || st.is(Kind.UNLEXABLE)),
                c + " for " + s + " in " + enc[0]);
    }

    static final EnumSet<Kind> RESTRICTING = EnumSet.of(Kind.PASSWORD, Kind.VALID_UNTIL, Kind.RENAME, Kind.MEMBERSHIP,
            Kind.ROLE_OTHER, Kind.EMBEDDED);

    @Provide
    Arbitrary<byte[]> sqlish() {
        List<String> vocab = List.of("ALTER ", "alter ", "ROLE ", "role", "USER ", "GROUP ", "GRANT ", "REVOKE ", "TO ",
                "FROM ", "ON ", "PASSWORD ", "password", "VALID ", "UNTIL ", "RENAME ", "x ", "alice ", "'", "''", "E'",
                "U&'", "U&\"", "\"", "$$", "$a$", "$1", "\\", "\\x41", "\\x52OLE", "\\0050", "/*", "*/", "--", "\n", ";",
                " ", ",", "(", ")", "DO ", "BEGIN ", "ATOMIC ", "END ", "CASE ", "CREATE ", "FUNCTION ", "DROP ", "UESCAPE ",
                "'!'", "0", "é", "\u00ff", "\t", "e", "ro", "le");
        return Arbitraries.of(vocab).list().ofMaxSize(40)
                .map(l -> String.join("", l).getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 2000)
    void fastPathNeverMissesWhatTheClassifierFinds(@ForAll("sqlish") byte[] sql, @ForAll boolean sc) {
        LexSettings settings = new LexSettings(sc, "UTF8", 17);
        Classification c = Classifier.classify(sql, 0, sql.length, settings);
        boolean restricted = c.statements().stream().anyMatch(s -> s.kinds().stream().anyMatch(RESTRICTING::contains));
        if (restricted) {
            assertTrue(Classifier.mayConcernRoles(sql, 0, sql.length), "3-arg fast path missed " + c);
            assertTrue(Classifier.mayConcernRoles(sql, 0, sql.length, settings), "settings fast path missed " + c);
        }
        assertNotNull(Classifier.redact(sql, 0, sql.length, settings));
    }

    @Provide
    Arbitrary<String> encodings() {
        return Arbitraries.of("UTF8", "SQL_ASCII", "LATIN1", "SJIS", "BIG5", "GBK", "UHC", "GB18030", "JOHAB",
                "SHIFT_JIS_2004", "EUC_JP", "WIN1252", "nonsense");
    }

    @Property(tries = 2000)
    void randomBytesNeverBreakTheClassifier(@ForAll byte[] sql, @ForAll("encodings") String enc, @ForAll boolean sc,
                                            @ForAll boolean v16) {
        LexSettings settings = new LexSettings(sc, enc, v16 ? 16 : 15);
        Classification c = Classifier.classify(sql, 0, sql.length, settings);
        for (Statement s : c.statements()) {
            assertFalse(s.kinds().isEmpty());
            assertTrue(s.span().start() >= 0 && s.span().end() <= sql.length && s.span().start() <= s.span().end());
        }
        assertNotNull(Classifier.redact(sql, 0, sql.length, settings));
        Classifier.mayConcernRoles(sql, 0, sql.length);
    }

    @Property(tries = 300)
    void redactionNeverShowsTheSecret(@ForAll("restricted") Spelled s) {
        if (!s.template().words().contains("S:s3cr3t")) {
            return;
        }
        String red = Classifier.redact(s.sql(), 0, s.sql().length, s.settings());
        assertFalse(red.contains("cr3t"), "redacted text shows the secret: " + red);
        assertTrue(red.contains("'***'"), red + " for " + s);
    }
}
