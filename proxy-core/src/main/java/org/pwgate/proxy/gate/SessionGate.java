package org.pwgate.proxy.gate;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.pwgate.proxy.protocol.Frame;

/**
 * The relay's seam for the password-command gate. The relay hands every tagged frame of an
 * established session to the gate, in order, on the session's event loop:
 *
 * <pre>
 *   client --frame--> onClientFrame --toBackend(frame…)--> backend
 *   client <--frame-- onBackendFrame <--frame-- backend
 * </pre>
 *
 * A gate passes a frame on by handing it to the consumer (ownership moves with it), may hand
 * injected frames before it, and drops a frame by releasing it. The relay flushes after each read
 * batch; the gate never flushes.
 */
public interface SessionGate {

    void onClientFrame(Frame frame, Consumer<Frame> toBackend);

    /**
     * Starts, off the event loop, the part of handling the client's {@code frame} that could hold
     * the loop up (the analysis of a long text), and returns when it will be done; null, the
     * default, when there is none. The relay calls it before {@link #onClientFrame} for frames in
     * order; when it gets a future, it hands {@code frame} to onClientFrame once that completes
     * (normally or not), and nothing from the client before: it holds the later frames back and
     * stops reading the client meanwhile. The frame stays the relay's, unreleased, until then.
     */
    default CompletableFuture<Void> prepare(Frame frame) {
        return null;
    }

    /**
     * A CancelRequest for this session came while the relay held client frames that the backend
     * has not seen, with nothing else in flight: the client meant the statement it is waiting
     * for, which PostgreSQL, idle, would never get the cancel for. The first statement among
     * those frames, a Query or the Execute of the first batch, is then refused in band with 57014,
     * as PostgreSQL answers a statement cancelled as it starts; a Sync, Query or FunctionCall that
     * goes on without it ends the chance.
     */
    default void cancelHeld() {}

    /**
     * After the held frames have gone on: whether the cancel of {@link #cancelHeld} was applied
     * (if not, the relay forwards it to the backend). Forgets it either way.
     */
    default boolean cancelApplied() {
        return false;
    }

    void onBackendFrame(Frame frame, Consumer<Frame> toClient);

    /**
     * True once the gate has failed closed (it lost track of the answers, or the client broke a
     * rule it enforces): the relay then flushes what the gate handed on and closes both sides.
     * Checked by the relay after each frame; it must be cheap.
     */
    default boolean sessionMustEnd() {
        return false;
    }

    /**
     * Whether, at this moment, the gate hands CopyData from either side and DataRow from the
     * backend on unchanged without looking at them. While it does, the relay may pass a run of
     * such messages on as bytes, without a Frame each and without calling the gate; it asks
     * again before each run. A gate that needs to see them returns false (the default).
     */
    default boolean passesDataUnseen() {
        return false;
    }

    /**
     * How many messages forwarded to the backend still owe an answer, as far as the gate keeps
     * count; 0 when it keeps none. The relay stops reading the client while this is high, so that
     * a client that pipelines without reading cannot make the count, and the memory it takes,
     * grow without bound. Checked by the relay after each client frame; it must be cheap.
     */
    default int pendingAnswers() {
        return 0;
    }

    /** The session ended: release anything still held. */
    default void close() {}
}
