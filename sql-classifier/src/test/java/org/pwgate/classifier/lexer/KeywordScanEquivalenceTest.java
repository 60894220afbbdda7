package org.pwgate.classifier.lexer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The word-at-a-time fast path answers exactly what the byte-by-byte reference scan answers, for
 * both word sets, with and without backslashes counting, at every offset and length: so it is
 * exactly as sound as the reference, which the classifier's properties check against classify.
 */
class KeywordScanEquivalenceTest {

    static final List<String> VOCAB = List.of("role", "ROLE", "rOlE", "user", "User", "group", "grant", "valid", "VALID",
            "revoke", "rename", "password", "PASSWORD", "alter", "create", "drop", "comment", "COMMENT", "security",
            "reassign", "roles", "xrole", "_role", "1", "9", "$", "$1", "r", "v", "m", "R", "V", "M", "u", "U", "&", "U&",
            "\\", "|", "\u0006", "\u0026", " ", "  ", "\n", "\t", ";", "'", "\"", "(", ")", ",", ".", "=", "_", "é", "\u00ff",
            "x", "abcdefg", "e'", "E'", "SELECT ", "FROM ", "WHERE ", "orders", "customer_id");

    @Provide
    Arbitrary<byte[]> sqlish() {
        return Arbitraries.of(VOCAB).list().ofMaxSize(30).map(l -> String.join("", l).getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 3000)
    void sameAnswerOnVocabulary(@ForAll("sqlish") byte[] b) {
        assertSameEverywhere(b);
    }

    @Property(tries = 2000)
    void sameAnswerOnRandomBytes(@ForAll byte[] b) {
        assertSameEverywhere(b);
    }

    @Test
    void sameAnswerOnManySeededInputs() {
        Random r = new Random(20261127);
        byte[] alphabet = "rRvVmMoOlLeEuUsSgGpPaAnNtTdDiIkKwWcC01$_&\\| ;'\n".getBytes(StandardCharsets.ISO_8859_1);
        for (int n = 0; n < 50_000; n++) {
            byte[] b = new byte[r.nextInt(40)];
            for (int i = 0; i < b.length; i++) {
                int k = r.nextInt(alphabet.length + 4);
                b[i] = k < alphabet.length ? alphabet[k] : (byte) r.nextInt(256);
            }
            assertSameEverywhere(b);
        }
    }

    static void assertSameEverywhere(byte[] b) {
        for (int o = 0; o <= Math.min(b.length, 9); o++) {
            int off = o;
            for (int len : new int[] {b.length - off, Math.max(0, b.length - off - 1), Math.max(0, b.length - off - 7)}) {
                for (boolean backslashCounts : new boolean[] {true, false}) {
                    for (boolean start : new boolean[] {true, false}) {
                        assertEquals(KeywordScan.exactScanForTest(b, off, len, backslashCounts, start),
                                KeywordScan.scanForTest(b, off, len, backslashCounts, start),
                                () -> new String(b, StandardCharsets.ISO_8859_1) + " off " + off + " len " + len
                                        + " backslash " + backslashCounts + " start " + start);
                    }
                }
            }
        }
    }
}
