package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.session.SessionState;

/** Which texts widen the window to every encoding that can hide quote bytes, and which do not. */
class LexingWindowTest {

    /** Encodings the window holds with a message in flight, after {@code text} went by. */
    private static List<String> encodingsAfter(String text, int padding) {
        LexingWindow window = new LexingWindow();
        SessionState session = new SessionState(1, new InetSocketAddress("127.0.0.1", 5555), "app", "postgres");
        window.noteReported(session);
        byte[] ascii = text.getBytes(StandardCharsets.ISO_8859_1);
        byte[] padded = new byte[ascii.length + 2 * padding];
        java.util.Arrays.fill(padded, (byte) 'x');
        System.arraycopy(ascii, 0, padded, padding, ascii.length);
        window.noteText(padded, padding, ascii.length);
        return window.candidates(session, false).stream().map(LexSettings::clientEncoding).distinct().toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"SET client_encoding TO 'SJIS'", "set names 'sjis'", "SELECT pg_catalog.SET_CONFIG('a','b',false)",
            "ENCODING", "Names", "select U&'\\0041'", "u&", "SET CLIENT_ENCODING = DEFAULT", "xencodingx"})
    void wordsThatCanChangeTheEncodingWidenTheWindow(String text) {
        for (int padding : new int[] {0, 3}) {
            List<String> encodings = encodingsAfter(text, padding);
            assertEquals(true, encodings.containsAll(LexingWindow.CLIENT_ONLY_ENCODINGS), text + " -> " + encodings);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT abalance FROM pgbench_accounts WHERE aid = 1", "UPDATE t SET e = 1, n = 2, u = 3",
            "encodin", "name", "set_confi", "u", "u &", "unnamed nest sequence endless", "", "e", "n", "s",
            "\u00e9ncoding", "setconfig"})
    void otherTextsLeaveItAsReported(String text) {
        // Padding after the text must not be read as part of it: "encodin" followed by "x" bytes
        // stays short of "encoding".
        for (int padding : new int[] {0, 3}) {
            assertEquals(List.of("UTF8"), encodingsAfter(text, padding), text);
        }
    }
}
