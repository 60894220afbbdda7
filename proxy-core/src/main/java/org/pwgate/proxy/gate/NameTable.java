package org.pwgate.proxy.gate;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * What each prepared statement (or portal) name may hold, as far as the gate can know while
 * messages are in flight. Holds only names that may hold a restricted statement, plus the unnamed
 * one; a name absent from the table holds nothing restricted.
 *
 * <p>An assignment (Parse, Bind, Close) takes effect on the backend only if it succeeds, which the
 * gate learns later. So each name keeps:
 * <pre>
 *   confirmed  what the last answered assignment left
 *   possible   confirmed merged with every assignment still pending (the conservative view)
 *   batch      the latest assignment since the last Sync the client sent
 * </pre>
 * A lookup in the same Sync batch as the latest assignment returns that assignment: if it fails,
 * the backend skips everything up to the Sync, including the message that looked it up. Otherwise
 * it returns {@code possible}.
 */
final class NameTable {

    final class Entry {
        final String name;
        Analysis confirmed;
        Analysis possible;
        Analysis batch;
        long batchEpoch = -1;
        int pending;
        final Assignment clearing = new Assignment(this, null);

        Entry(String name) {
            this.name = name;
        }

        NameTable table() {
            return NameTable.this;
        }
    }

    /** A pending assignment of {@code value} to {@code entry}, carried on the response queue. */
    record Assignment(Entry entry, Analysis value) {}

    private final Entry unnamed = new Entry("");
    private final Map<String, Entry> named = new HashMap<>();

    /** True when no named entry exists: every name but the unnamed one then holds nothing restricted. */
    boolean holdsNoNames() {
        return named.isEmpty();
    }

    Analysis lookup(String name, long epoch) {
        Entry e = name.isEmpty() ? unnamed : named.get(name);
        if (e == null) {
            return null;
        }
        return e.batchEpoch == epoch ? e.batch : e.possible;
    }

    /** Records an assignment sent to the backend; returns what to queue (null: nothing to learn). */
    Assignment assign(String name, Analysis value, long epoch) {
        Entry e = name.isEmpty() ? unnamed : named.get(name);
        if (e == null) {
            if (value == null) {
                return null;
            }
            e = new Entry(name);
            named.put(name, e);
        }
        e.pending++;
        e.possible = Analysis.merge(e.possible, value);
        e.batch = value;
        e.batchEpoch = epoch;
        return value == null ? e.clearing : new Assignment(e, value);
    }

    /** The backend answered the assignment: it took effect. */
    static void succeeded(Assignment a) {
        a.entry().table().confirm(a);
    }

    /** The assignment failed or was skipped: the name keeps what it held. */
    static void failed(Assignment a) {
        a.entry().table().abandon(a);
    }

    private void confirm(Assignment a) {
        Entry e = a.entry();
        e.pending--;
        e.confirmed = a.value();
        settle(e);
    }

    private void abandon(Assignment a) {
        Entry e = a.entry();
        e.pending--;
        settle(e);
    }

    /** Everything the backend held is gone (portals at transaction end, DISCARD ALL, DEALLOCATE ALL). */
    void clearConfirmed() {
        unnamed.confirmed = null;
        settle(unnamed);
        if (named.isEmpty()) {
            return; // the common case, at every ReadyForQuery outside a transaction: no iterator
        }
        for (Iterator<Entry> it = named.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            e.confirmed = null;
            if (e.pending == 0) {
                it.remove();
            }
        }
    }

    boolean isEmpty() {
        return named.isEmpty() && unnamed.possible == null;
    }

    private void settle(Entry e) {
        if (e.pending == 0) {
            e.possible = e.confirmed;
            if (e != unnamed && e.confirmed == null) {
                named.remove(e.name);
            }
        }
    }
}
