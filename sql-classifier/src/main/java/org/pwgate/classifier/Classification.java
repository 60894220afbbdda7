package org.pwgate.classifier;

import java.util.List;

/** The statements of one text, in order. Empty statements (lone ';') are not listed. */
public record Classification(List<Statement> statements) {
    public Classification {
        statements = List.copyOf(statements);
    }

    /** True when every statement is OTHER (nothing for the gate to look at). */
    public boolean allOther() {
        return statements.stream().allMatch(s -> s.kinds().equals(java.util.Set.of(Kind.OTHER)));
    }
}
