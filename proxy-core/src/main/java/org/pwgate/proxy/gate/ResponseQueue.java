package org.pwgate.proxy.gate;

/**
 * The FIFO of messages forwarded to the backend that still owe an answer, client's and injected,
 * in order (pg-protocol-accounting.md). Each backend message is attributed to the head. A ring of
 * primitive kinds plus an attachment slot, so that queueing a message allocates nothing.
 */
final class ResponseQueue {
    static final byte QUERY = 1;
    static final byte PARSE = 2;
    static final byte BIND = 3;
    static final byte DESCRIBE_STATEMENT = 4;
    static final byte DESCRIBE_PORTAL = 5;
    static final byte EXECUTE = 6;
    static final byte CLOSE = 7;
    static final byte SYNC = 8;
    static final byte FUNCTION_CALL = 9;
    /** The client's CopyDone/CopyFail: answered by nothing, marks where a COPY IN ends. */
    static final byte COPY_END = 10;
    /** The guard's Execute; its attachment is the {@link Guarded} statement. */
    static final byte GUARD_EXECUTE = 11;
    /** Flag on a kind: the message was injected by the gate, its answer is dropped. */
    static final byte INJECTED = 0x40;

    private byte[] kinds = new byte[16];
    private Object[] attachments = new Object[16];
    private int head;
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    void push(byte kind, Object attachment) {
        if (size == kinds.length) {
            grow();
        }
        int i = (head + size) & (kinds.length - 1);
        kinds[i] = kind;
        attachments[i] = attachment;
        size++;
    }

    /** Kind at the head, 0 when empty. */
    byte headKind() {
        return size == 0 ? 0 : kinds[head];
    }

    /** Kind of the newest entry, 0 when empty. */
    byte tailKind() {
        return size == 0 ? 0 : kindAt(size - 1);
    }

    Object headAttachment() {
        return size == 0 ? null : attachments[head];
    }

    void pop() {
        attachments[head] = null;
        head = (head + 1) & (kinds.length - 1);
        size--;
    }

    byte kindAt(int n) {
        return kinds[(head + n) & (kinds.length - 1)];
    }

    Object attachmentAt(int n) {
        return attachments[(head + n) & (kinds.length - 1)];
    }

    /** True when a SYNC is queued at or after the head. */
    boolean hasSync() {
        for (int n = 0; n < size; n++) {
            if (kindAt(n) == SYNC) {
                return true;
            }
        }
        return false;
    }

    /**
     * The backend entered COPY IN for the head entry: it ignores Sync and Flush until the client's
     * CopyDone or CopyFail, so SYNC entries queued before the next COPY_END answer nothing; drop
     * them. Returns true when a COPY_END was found (the client has already ended the copy).
     */
    boolean dropSyncsUntilCopyEnd() {
        int write = 1;
        boolean found = false;
        int n = 1;
        for (; n < size; n++) {
            byte k = kindAt(n);
            if (k == COPY_END) {
                found = true;
                break;
            }
            if (k != SYNC) {
                move(n, write++);
            }
        }
        for (; n < size; n++) {
            move(n, write++);
        }
        for (int i = write; i < size; i++) {
            attachments[(head + i) & (kinds.length - 1)] = null;
        }
        size = write;
        return found;
    }

    private void move(int from, int to) {
        if (from != to) {
            int f = (head + from) & (kinds.length - 1);
            int t = (head + to) & (kinds.length - 1);
            kinds[t] = kinds[f];
            attachments[t] = attachments[f];
        }
    }

    boolean containsInjected() {
        for (int n = 0; n < size; n++) {
            byte k = kindAt(n);
            if ((k & INJECTED) != 0 || k == GUARD_EXECUTE || (k == QUERY && attachmentAt(n) != null)) {
                return true;
            }
        }
        return false;
    }

    void clear() {
        while (size > 0) {
            pop();
        }
    }

    private void grow() {
        int n = kinds.length;
        byte[] k = new byte[n * 2];
        Object[] a = new Object[n * 2];
        for (int i = 0; i < size; i++) {
            k[i] = kinds[(head + i) & (n - 1)];
            a[i] = attachments[(head + i) & (n - 1)];
        }
        kinds = k;
        attachments = a;
        head = 0;
    }
}
