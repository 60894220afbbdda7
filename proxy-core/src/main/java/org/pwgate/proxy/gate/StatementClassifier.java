package org.pwgate.proxy.gate;

import org.pwgate.classifier.Classification;
import org.pwgate.classifier.Classifier;
import org.pwgate.classifier.LexSettings;

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

    /** PostgreSQL's scanner fails on the text under {@code settings} (see {@link Classifier#lexesWithAnError}). */
    default boolean lexesWithAnError(byte[] text, int offset, int length, LexSettings settings) {
        return Classifier.lexesWithAnError(text, offset, length, settings);
    }

    StatementClassifier POSTGRES = new StatementClassifier() {
        @Override
        public boolean mayConcernRoles(byte[] text, int offset, int length) {
            return Classifier.mayConcernRoles(text, offset, length);
        }

        @Override
        public Classification classify(byte[] text, int offset, int length, LexSettings settings) {
            return Classifier.classify(text, offset, length, settings);
        }

        @Override
        public String redact(byte[] text, int offset, int length, LexSettings settings) {
            return Classifier.redact(text, offset, length, settings);
        }
    };
}
