package org.pwgate.classifier;

/** A half-open byte range [start, end) in the statement text as it was given (client encoding bytes). */
public record Span(int start, int end) {
    public int length() {
        return end - start;
    }
}
