package org.pwgate.proxy.gate;

/**
 * How the answer to a rewritten simple Query lines up: one slot per statement the server will run,
 * in order, the injected guards included. Each statement ends with CommandComplete or
 * ErrorResponse (and an error skips the rest of the string), so counting completions tells which
 * statement the backend is answering.
 *
 * @see ResponseQueue#QUERY
 */
final class QueryPlan {
    private final Guarded[] slots;
    /** Number of statements the server should complete, or -1 when not known (one guard at the front). */
    private final int expected;
    private int next;
    private boolean failed;

    /** {@code slots[i]} is the guard at position i, null for the client's own statements. */
    QueryPlan(Guarded[] slots, int expected) {
        this.slots = slots;
        this.expected = expected;
    }

    /** The guard the backend is answering now, or null when it is a client statement. */
    Guarded current() {
        return failed || next >= slots.length ? null : slots[next];
    }

    void completed() {
        next++;
    }

    void failed() {
        failed = true;
    }

    boolean hasFailed() {
        return failed;
    }

    /** True when, without an error, the number of completions is what the plan expected. */
    boolean completedAsExpected() {
        return failed || expected < 0 ? true : next == expected;
    }

    /** Guards after the current position: their statements did not run. */
    Iterable<Guarded> notReached() {
        java.util.List<Guarded> rest = new java.util.ArrayList<>();
        for (int i = failed ? next + 1 : next; i < slots.length; i++) {
            if (slots[i] != null) {
                rest.add(slots[i]);
            }
        }
        return rest;
    }
}
