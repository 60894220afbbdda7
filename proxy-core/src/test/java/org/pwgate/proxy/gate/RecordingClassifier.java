package org.pwgate.proxy.gate;

import java.util.ArrayList;
import java.util.List;
import org.pwgate.classifier.Classification;
import org.pwgate.classifier.LexSettings;

/** The real classifier, recording under which settings the gate asked it to classify. */
final class RecordingClassifier implements StatementClassifier {
    final List<LexSettings> seen = new ArrayList<>();
    int classifications;
    int redactions;

    @Override
    public boolean mayConcernRoles(byte[] text, int offset, int length) {
        return POSTGRES.mayConcernRoles(text, offset, length);
    }

    @Override
    public Classification classify(byte[] text, int offset, int length, LexSettings settings) {
        classifications++;
        seen.add(settings);
        return POSTGRES.classify(text, offset, length, settings);
    }

    @Override
    public String redact(byte[] text, int offset, int length, LexSettings settings) {
        redactions++;
        return POSTGRES.redact(text, offset, length, settings);
    }
}
