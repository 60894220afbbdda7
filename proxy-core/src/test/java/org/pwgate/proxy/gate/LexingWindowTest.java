package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.session.SessionState;

/** Which encodings a text is lexed under, with the pipeline idle and with messages in flight. */
class LexingWindowTest {
    private final LexingWindow window = new LexingWindow();
    private final SessionState session = new SessionState(1, new InetSocketAddress("127.0.0.1", 5555), "app", "postgres");

    private List<String> encodings(boolean pipelineIdle) {
        return window.candidates(session, pipelineIdle).stream().map(LexSettings::clientEncoding).distinct().toList();
    }

    @Test
    void anIdlePipelineHasTheReportedEncodingOnly() {
        assertEquals(List.of("UTF8"), encodings(true));
        assertEquals(2, window.candidates(session, true).size(), "both standard_conforming_strings values");
    }

    @Test
    void messagesInFlightMayHaveChangedTheEncodingWithoutNamingIt() {
        // e.g. UPDATE pg_settings SET setting = 'SJIS' WHERE name = 'client_enc' || 'oding'
        List<String> encodings = encodings(false);
        assertTrue(encodings.containsAll(LexingWindow.CLIENT_ONLY_ENCODINGS), encodings.toString());
        assertTrue(encodings.contains("UTF8"), encodings.toString());
    }
}
