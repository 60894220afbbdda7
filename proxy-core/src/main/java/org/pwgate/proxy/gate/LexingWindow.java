package org.pwgate.proxy.gate;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.pwgate.classifier.LexSettings;
import org.pwgate.proxy.session.SessionState;

/**
 * The lexing settings under which the server may parse the statement that is arriving now. The
 * gate classifies it under each and keeps the strictest verdict, so that a change of
 * client_encoding or standard_conforming_strings that is in flight opens no window.
 *
 * <p>Why this set is enough:
 * <ul>
 *   <li>standard_conforming_strings: both values, always. It costs a second lexing of the rare
 *       texts that pass the classifier's fast path, and it also covers changes the session cannot
 *       see coming (SET inside a function, a server reload changing the default).</li>
 *   <li>client_encoding, pipeline idle (every forwarded message answered through its
 *       ReadyForQuery): the value the backend reported last is exact, because the backend reports
 *       every change of it in ParameterStatus before ReadyForQuery.</li>
 *   <li>client_encoding, messages in flight: any value the session has been in, every client-only
 *       encoding whose multi-byte characters can hide ASCII quote or backslash bytes, and UTF8 as
 *       the representative of the ASCII-safe ones (they lex ASCII structure identically). Any
 *       statement in flight may change the encoding without naming it ({@code UPDATE pg_settings
 *       SET setting = 'SJIS' WHERE name = 'client_enc' || 'oding'}, a function), so no word in the
 *       texts decides this: only the texts that pass the classifier's fast path are lexed again.</li>
 * </ul>
 */
final class LexingWindow {
    /** PostgreSQL's client-only encodings whose second bytes overlap ASCII (postgresql-role-grammar.md). */
    static final List<String> CLIENT_ONLY_ENCODINGS =
            List.of("SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB");

    private final Set<String> seenEncodings = new LinkedHashSet<>();

    /** Records the encoding the backend reports now (call on ParameterStatus and before use). */
    void noteReported(SessionState session) {
        seenEncodings.add(session.clientEncoding());
    }

    List<LexSettings> candidates(SessionState session, boolean pipelineIdle) {
        return snapshot(session, pipelineIdle).candidates();
    }

    /** What {@link #candidates} needs, copied, for a text analysed off the event loop. */
    Snapshot snapshot(SessionState session, boolean pipelineIdle) {
        noteReported(session);
        return new Snapshot(session.clientEncoding(), pipelineIdle, List.copyOf(seenEncodings),
                session.standardConformingStrings(), session.serverMajor());
    }

    record Snapshot(String reported, boolean pipelineIdle, List<String> seen, boolean confirmedScs, int serverMajor) {
        /** The settings to lex under. */
        List<LexSettings> candidates() {
            Set<String> encodings = new LinkedHashSet<>();
            encodings.add(reported);
            if (!pipelineIdle) {
                encodings.addAll(seen);
                encodings.add("UTF8");
                encodings.addAll(CLIENT_ONLY_ENCODINGS);
            }
            List<LexSettings> out = new ArrayList<>(encodings.size() * 2);
            for (String enc : encodings) {
                out.add(new LexSettings(confirmedScs, enc, serverMajor));
                out.add(new LexSettings(!confirmedScs, enc, serverMajor));
            }
            return out;
        }
    }
}
