package org.pwgate.classifier;

/**
 * Entry point of the classifier: pure functions, thread-safe, no I/O.
 *
 * <pre>
 * bytes --fast path--> OTHER (no keyword that can start or embed a restricted statement)
 *       --decode/mask (client_encoding)--> lexer --> splitter (top-level ';') --> role-statement parser --> verdicts
 * </pre>
 */
public final class Classifier {
    private Classifier() {}

    /**
     * Fast path: false when the bytes hold none of the ASCII words that can start or embed a
     * restricted statement (case-insensitive), so the text needs no lexing. Allocation-free.
     */
    public static boolean mayConcernRoles(byte[] text, int offset, int length) {
        throw new UnsupportedOperationException("implemented by the classifier work");
    }

    /** Classifies {@code text[offset, offset+length)}, given in the session's client_encoding. Spans are relative to {@code offset}. */
    public static Classification classify(byte[] text, int offset, int length, LexSettings settings) {
        throw new UnsupportedOperationException("implemented by the classifier work");
    }

    /** Convenience for tests and tools: the text is encoded as UTF-8; spans are UTF-8 byte offsets. */
    public static Classification classify(String text, LexSettings settings) {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return classify(bytes, 0, bytes.length, settings);
    }

    /** The text with every secret literal replaced by {@code '***'}, decoded for logging. Never throws. */
    public static String redact(byte[] text, int offset, int length, LexSettings settings) {
        throw new UnsupportedOperationException("implemented by the classifier work");
    }

    public static String redact(String text, LexSettings settings) {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return redact(bytes, 0, bytes.length, settings);
    }
}
