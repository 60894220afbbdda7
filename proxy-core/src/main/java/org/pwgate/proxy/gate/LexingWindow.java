package org.pwgate.proxy.gate;

import java.nio.charset.StandardCharsets;
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
 *   <li>client_encoding, messages in flight: any value the session has been in (ROLLBACK, RESET,
 *       DISCARD ALL and SET LOCAL only go back to earlier values), plus, once any text of the
 *       session mentioned an encoding ("encoding", "names", "set_config", or a U&amp; escape that
 *       could spell them) or went by while the gate was off and unread, every client-only
 *       encoding whose multi-byte characters can hide ASCII quote or backslash bytes, and UTF8 as
 *       the representative of the ASCII-safe ones (they lex ASCII structure identically).</li>
 * </ul>
 * A function that changes client_encoding internally, created elsewhere, stays outside what a proxy
 * sees (documented limit).
 */
final class LexingWindow {
    /** PostgreSQL's client-only encodings whose second bytes overlap ASCII (postgresql-role-grammar.md). */
    static final List<String> CLIENT_ONLY_ENCODINGS =
            List.of("SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB");

    /** The words noteText looks for, in lower case ("u&" is checked inline). */
    private static final byte[] ENCODING = ascii("encoding");
    private static final byte[] NAMES = ascii("names");
    private static final byte[] SET_CONFIG = ascii("set_config");

    private final Set<String> seenEncodings = new LinkedHashSet<>();
    private boolean encodingMayChange;

    /** Records the encoding the backend reports now (call on ParameterStatus and before use). */
    void noteReported(SessionState session) {
        seenEncodings.add(session.clientEncoding());
    }

    /** A text the gate could not read (gate off) went by: it may have changed client_encoding. */
    void assumeEncodingMayChange() {
        encodingMayChange = true;
    }

    /**
     * Looks for words that can change client_encoding, ASCII case-insensitively, anywhere in the
     * text (inside literals and identifiers too: over-matching only widens the window). One pass;
     * a word is compared in full only where its first two bytes are there, so the letters every
     * query is full of (e, n, s, u) cost one extra compare, not a string match.
     */
    void noteText(byte[] t, int off, int len) {
        if (!encodingMayChange && mentionsEncoding(t, off, len)) {
            encodingMayChange = true;
        }
    }

    /** What {@link #noteText} would note, found ahead (off the event loop, on the same text). */
    void noteMention(boolean mentionsEncoding) {
        encodingMayChange |= mentionsEncoding;
    }

    /** Whether the text has a word that can change client_encoding (see {@link #noteText}); no state. */
    static boolean mentionsEncoding(byte[] t, int off, int len) {
        int last = off + len - 1; // every word is at least two bytes: its second byte is at most here
        for (int i = off; i < last; i++) {
            int second = t[i + 1] | 0x20;
            boolean found = switch (t[i] | 0x20) {
                case 'e' -> second == 'n' && matches(t, i, off + len, ENCODING);
                case 'n' -> second == 'a' && matches(t, i, off + len, NAMES);
                case 's' -> second == 'e' && matches(t, i, off + len, SET_CONFIG);
                case 'u' -> t[i + 1] == '&';
                default -> false;
            };
            if (found) {
                return true;
            }
        }
        return false;
    }

    private static byte[] ascii(String word) {
        return word.getBytes(StandardCharsets.US_ASCII);
    }

    /** {@code word} (lower case) at {@code t[i]}: letters match either case, other bytes exactly. */
    private static boolean matches(byte[] t, int i, int end, byte[] word) {
        if (end - i < word.length) {
            return false;
        }
        for (int k = 0; k < word.length; k++) {
            byte w = word[k];
            byte b = t[i + k];
            if (b != w && (w < 'a' || w > 'z' || (b | 0x20) != w)) {
                return false;
            }
        }
        return true;
    }

    List<LexSettings> candidates(SessionState session, boolean pipelineIdle) {
        return snapshot(session, pipelineIdle).candidates(false);
    }

    /**
     * What {@link #candidates} needs, copied, for a text analysed off the event loop: the set is
     * the one {@code candidates} gives once the text has been noted, if nothing changes meanwhile.
     */
    Snapshot snapshot(SessionState session, boolean pipelineIdle) {
        noteReported(session);
        return new Snapshot(session.clientEncoding(), pipelineIdle, List.copyOf(seenEncodings), encodingMayChange,
                session.standardConformingStrings(), session.serverMajor());
    }

    record Snapshot(String reported, boolean pipelineIdle, List<String> seen, boolean encodingMayChange,
                    boolean confirmedScs, int serverMajor) {
        /** The settings to lex under, {@code mentionsEncoding} saying whether the text itself may change the encoding. */
        List<LexSettings> candidates(boolean mentionsEncoding) {
            Set<String> encodings = new LinkedHashSet<>();
            encodings.add(reported);
            if (!pipelineIdle) {
                encodings.addAll(seen);
                if (encodingMayChange || mentionsEncoding) {
                    encodings.add("UTF8");
                    encodings.addAll(CLIENT_ONLY_ENCODINGS);
                }
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
