package org.pwgate.classifier.parser;

import java.util.Arrays;

/**
 * Statement boundaries: top-level ';' tokens, except inside the {@code BEGIN ATOMIC … END} body of
 * CREATE [OR REPLACE] FUNCTION|PROCEDURE, where gram.y's routine_body_stmt_list takes them.
 *
 * <p>Inside such a body every END closes either a CASE or the body (an END that would be a
 * transaction statement can never appear there: the parser always shifts it as the body's end),
 * so counting CASE … END is exact for text the server accepts. BEGIN ATOMIC is only recognised in
 * statements that start with CREATE [OR REPLACE] FUNCTION|PROCEDURE, outside parentheses:
 * elsewhere {@code begin atomic} can be a column and its alias ({@code SELECT begin atomic FROM t}),
 * and treating it as a body would hide the next statement. If we ever over-extend a body, the
 * hidden text is still scanned as a body (see StatementAnalyzer), so the error is on the safe side.
 */
final class Splitter {
    private Splitter() {}

    /**
     * Statements as triples in one array: first token, end token (exclusive, the ';' or n),
     * and the first token of a BEGIN ATOMIC body (or -1).
     */
    static int[] split(LexedText x) {
        int[] out = new int[12];
        int count = 0;
        int n = x.n;
        int start = 0;
        boolean routine = false;
        int atomicDepth = 0;
        int caseDepth = 0;
        int parenDepth = 0;
        int body = -1;
        for (int i = 0; i < n; i++) {
            if (i == start) {
                routine = isRoutineStart(x, i);
                atomicDepth = 0;
                caseDepth = 0;
                parenDepth = 0;
                body = -1;
            }
            if (atomicDepth == 0 && x.ch(i, ';')) {
                if (i > start) {
                    out = put(out, count++, start, i, body);
                }
                start = i + 1;
                continue;
            }
            if (!routine) {
                continue;
            }
            if (x.ch(i, '(')) {
                parenDepth++;
            } else if (x.ch(i, ')')) {
                parenDepth--;
            } else if (parenDepth <= 0 && x.kw(i, "begin") && x.kw(i + 1, "atomic")) {
                atomicDepth++;
                if (body < 0) {
                    body = i + 2;
                }
                i++;
            } else if (atomicDepth > 0) {
                if (x.kw(i, "case")) {
                    caseDepth++;
                } else if (x.kw(i, "end")) {
                    if (caseDepth > 0) {
                        caseDepth--;
                    } else {
                        atomicDepth--;
                    }
                }
            }
        }
        if (start < n) {
            out = put(out, count++, start, n, body);
        }
        return Arrays.copyOf(out, count * 3);
    }

    private static int[] put(int[] out, int index, int a, int b, int body) {
        if (index * 3 + 3 > out.length) {
            out = Arrays.copyOf(out, out.length * 2);
        }
        out[index * 3] = a;
        out[index * 3 + 1] = b;
        out[index * 3 + 2] = body;
        return out;
    }

    static boolean isRoutineStart(LexedText x, int i) {
        if (!x.kw(i, "create")) {
            return false;
        }
        int j = i + 1;
        if (x.kw(j, "or") && x.kw(j + 1, "replace")) {
            j += 2;
        }
        return x.kw(j, "function") || x.kw(j, "procedure");
    }
}
