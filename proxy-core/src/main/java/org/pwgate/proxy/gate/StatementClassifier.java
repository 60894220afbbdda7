package org.pwgate.proxy.gate;

import java.util.List;
import java.util.Set;
import org.pwgate.classifier.Classification;
import org.pwgate.classifier.Classifier;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.LexSettings;
import org.pwgate.classifier.Span;
import org.pwgate.classifier.Statement;
import org.slf4j.LoggerFactory;

/**
 * The gate's view of the classifier: the seam that lets protocol-mechanics tests run without it.
 * Production uses {@link #POSTGRES}, i.e. {@link Classifier}.
 */
interface StatementClassifier {

    /** False when the text cannot start or embed a restricted statement (no lexing needed). */
    boolean mayConcernRoles(byte[] text, int offset, int length);

    /** Spans are relative to {@code offset}. */
    Classification classify(byte[] text, int offset, int length, LexSettings settings);

    /** The text with secret literals replaced, for the audit log. */
    String redact(byte[] text, int offset, int length, LexSettings settings);

    /**
     * The classifier, failing closed: should it ever throw (a bug, a stack too deep), the text
     * counts as one UNLEXABLE statement, which the gate guards, and the frame is still accounted
     * for. Nothing of the text is logged.
     */
    StatementClassifier POSTGRES = new StatementClassifier() {
        @Override
        public boolean mayConcernRoles(byte[] text, int offset, int length) {
            try {
                return Classifier.mayConcernRoles(text, offset, length);
            } catch (RuntimeException | StackOverflowError e) {
                failed("fast path", e);
                return true;
            }
        }

        @Override
        public Classification classify(byte[] text, int offset, int length, LexSettings settings) {
            try {
                return Classifier.classify(text, offset, length, settings);
            } catch (RuntimeException | StackOverflowError e) {
                failed("classification", e);
                return new Classification(List.of(new Statement(new Span(0, length), Set.of(Kind.UNLEXABLE),
                        List.of(), List.of(), List.of(), List.of(), false, false, false)));
            }
        }

        @Override
        public String redact(byte[] text, int offset, int length, LexSettings settings) {
            try {
                return Classifier.redact(text, offset, length, settings);
            } catch (RuntimeException | StackOverflowError e) {
                failed("redaction", e);
                return "<statement not shown: " + length + " bytes>";
            }
        }

        private void failed(String what, Throwable e) {
            LoggerFactory.getLogger(StatementClassifier.class).error(
                    "the classifier failed in {} ({}); the statement is treated as unlexable", what, e.getClass().getName());
        }
    };
}
