package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.session.SessionState;

/** Which texts widen the window to every encoding that can hide quote bytes, and which do not. */
class LexingWindowTest {

    /**
     * Encodings the window holds with a message in flight, after the text {@code before + text +
     * after} went by with only {@code text} inside the bounds noteText is given: the bytes around
     * it lie in the same array, as they do in a read buffer, and must not be read.
     */
    private static List<String> encodingsAfter(String before, String text, String after) {
        LexingWindow window = new LexingWindow();
        SessionState session = new SessionState(1, new InetSocketAddress("127.0.0.1", 5555), "app", "postgres");
        window.noteReported(session);
        byte[] all = (before + text + after).getBytes(StandardCharsets.ISO_8859_1);
        window.noteText(all, before.length(), text.getBytes(StandardCharsets.ISO_8859_1).length);
        return window.candidates(session, false).stream().map(LexSettings::clientEncoding).distinct().toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"SET client_encoding TO 'SJIS'", "set names 'sjis'", "SELECT pg_catalog.SET_CONFIG('a','b',false)",
            "ENCODING", "Names", "select U&'\\0041'", "u&", "SET CLIENT_ENCODING = DEFAULT", "xencodingx"})
    void wordsThatCanChangeTheEncodingWidenTheWindow(String text) {
        for (String pad : new String[] {"", "xxx"}) {
            List<String> encodings = encodingsAfter(pad, text, pad);
            assertTrue(encodings.containsAll(LexingWindow.CLIENT_ONLY_ENCODINGS), text + " -> " + encodings);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT abalance FROM pgbench_accounts WHERE aid = 1", "UPDATE t SET e = 1, n = 2, u = 3",
            "encodin", "name", "set_confi", "u", "u &", "unnamed nest sequence endless", "", "e", "n", "s",
            "\u00e9ncoding", "setconfig"})
    void otherTextsLeaveItAsReported(String text) {
        for (String pad : new String[] {"", "xxx"}) {
            assertEquals(List.of("UTF8"), encodingsAfter(pad, text, pad), text);
        }
    }

    @Test
    void bytesOutsideTheTextDoNotCompleteAWord() {
        // Each word cut at the text's end, its rest just after it in the same array, and the
        // other way round: only what lies inside the bounds counts.
        String[][] cuts = {{"", "encodin", "g"}, {"", "nam", "es"}, {"", "set_confi", "g"}, {"", "u", "&"},
                {"e", "ncoding", ""}, {"u", "&", ""}, {"set", "_config", ""}};
        for (String[] c : cuts) {
            assertEquals(List.of("UTF8"), encodingsAfter(c[0], c[1], c[2]), String.join("|", c));
        }
    }
}
