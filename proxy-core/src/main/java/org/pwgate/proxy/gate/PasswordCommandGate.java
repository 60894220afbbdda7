package org.pwgate.proxy.gate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.pwgate.classifier.Classification;
import org.pwgate.classifier.Kind;
import org.pwgate.classifier.LexSettings;
import org.pwgate.classifier.Span;
import org.pwgate.classifier.Statement;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.SqlState;
import org.pwgate.proxy.session.SessionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The in-band password-command gate of one session (DESIGN.md, "The gate").
 *
 * <pre>
 *  client frame --> [track: ResponseQueue, statement/portal NameTables] --> (guard frames) + frame --> backend
 *  backend frame --> [attribute to the queue's head] --> drop injected answers / strip guard error --> client
 * </pre>
 *
 * Simple Query: a guard statement is spliced in front of each restricted statement of the text.
 * Extended query: Close/Close/Parse/Bind/Execute of the guard under {@value #GUARD_NAME} go in
 * front of the client's Execute of a restricted portal; after the guard's error the backend skips
 * to the Sync, so the client's Execute never runs.
 *
 * <p>The queue and name tables are kept whether the restriction is on or off: that costs a few
 * array writes per message and makes a reload that turns the restriction on safe at any message
 * boundary, including for statements prepared while it was off. When off, nothing is classified
 * for simple queries and nothing is injected: every frame passes unchanged.
 *
 * <p>What the backend's input stream is doing, as far as the client's next message is concerned:
 * <pre>
 *   READY --CopyInResponse--> COPY_IN --client CopyDone/CopyFail--> READY
 *   READY --ErrorResponse in extended query, no Sync queued--> SKIPPING --client Sync--> READY
 *   any --backend FATAL--> BACKEND_GONE          any --answers not as expected, gate on--> CLOSED
 *   any --answers not as expected, gate off--> UNTRACKED --gate turned on--> CLOSED
 * </pre>
 */
final class PasswordCommandGate implements SessionGate {
    static final String GUARD_NAME = "pwgate_guard";
    private static final Logger log = LoggerFactory.getLogger(PasswordCommandGate.class);
    /** Query texts up to this size are copied into a per-session buffer that is kept. */
    private static final int SCRATCH_KEEP = 16 * 1024;
    /**
     * Texts at least this long are analysed off the event loop first ({@link #prepare}), when read
     * under the two settings of an idle pipeline; with more readings (messages in flight: up to
     * 8 encodings, each under both standard_conforming_strings values), shorter ones too, so that
     * the loop never lexes more than about twice this much for one text.
     */
    static final int AHEAD_TEXT = 256 * 1024;
    /** The most readings of one text (LexingWindow: 8 encodings and any others seen, × 2): the shortest text sent ahead. */
    private static final int AHEAD_TEXT_MIN = AHEAD_TEXT / 16;
    /** Restricted statements at least this long in such a text are redacted for the audit log there too. */
    static final int REDACT_AHEAD = 16 * 1024;

    private enum State { READY, COPY_IN, SKIPPING, UNTRACKED, BACKEND_GONE, CLOSED }

    private final Supplier<PwgateConfig> config;
    private final SessionState session;
    private final StatementClassifier classifier;
    private final AuditLog audit;
    /** Where long texts are analysed ahead, off the event loop. */
    private final Executor analysis;
    private final ResponseQueue queue = new ResponseQueue();
    private final NameTable statements = new NameTable();
    private final NameTable portals = new NameTable();
    private final LexingWindow lexing = new LexingWindow();
    private State state = State.READY;
    /** Counts the client's Syncs: a Sync batch's messages share one epoch. */
    private long syncEpoch;
    private boolean terminateSent;
    private byte[] scratch;
    /** The analysis done ahead for the frame the relay hands over next ({@link #prepare}); null when none. */
    private Ahead ahead;
    /** A cancel came while the relay held this session's frames: their first statement is refused with 57014. */
    private boolean cancelPending;
    /** Whether that refusal was made. */
    private boolean cancelApplied;

    /** Long texts analysed on the calling thread: for tests of the protocol mechanics. */
    PasswordCommandGate(Supplier<PwgateConfig> config, SessionState session, StatementClassifier classifier,
                        AuditLog audit) {
        this(config, session, classifier, audit, Runnable::run);
    }

    PasswordCommandGate(Supplier<PwgateConfig> config, SessionState session, StatementClassifier classifier,
                        AuditLog audit, Executor analysis) {
        this.config = config;
        this.session = session;
        this.classifier = classifier;
        this.audit = audit;
        this.analysis = analysis;
        lexing.noteReported(session);
    }

    private void transition(State next) {
        if (state == State.CLOSED || state == State.BACKEND_GONE) {
            return;
        }
        state = next;
        if (next == State.CLOSED || next == State.BACKEND_GONE || next == State.UNTRACKED) {
            queue.clear();
        }
    }

    private boolean restrictionOn() {
        return config.get().parameters().restrictPasswordCommands();
    }

    // ---------------------------------------------------------------- client -> backend

    @Override
    public void onClientFrame(Frame f, Consumer<Frame> toBackend) {
        byte tag = f.tag();
        try {
            onClientFrameInState(f, toBackend);
        } finally {
            ahead = null; // it was for this frame, or it is stale
            if (tag == 'Q' || tag == 'E' || tag == 'S' || tag == 'F') {
                cancelPending = false; // the first statement, or its batch, went by: used or not, the cancel was for it
            }
        }
    }

    private void onClientFrameInState(Frame f, Consumer<Frame> toBackend) {
        switch (state) {
            case READY -> ready(f, toBackend);
            case COPY_IN -> copyIn(f, toBackend);
            case SKIPPING -> {
                // The backend discards everything up to the next Sync: nothing to track or guard.
                if (f.tag() == 'S') {
                    queue.push(ResponseQueue.SYNC, null);
                    syncEpoch++;
                    transition(State.READY);
                }
                toBackend.accept(f);
            }
            case UNTRACKED -> {
                if (restrictionOn() && startsWork(f.tag())) {
                    failClosedFromClient(f, toBackend, "the gate was turned on in a session whose answers it had lost track of");
                } else {
                    toBackend.accept(f);
                }
            }
            case BACKEND_GONE -> toBackend.accept(f);
            case CLOSED -> {
                f.release();
                if (!terminateSent) {
                    terminateSent = true;
                    toBackend.accept(GateWire.terminate(f.body().alloc()));
                }
            }
        }
    }

    private static boolean startsWork(byte tag) {
        return tag == 'Q' || tag == 'P' || tag == 'B' || tag == 'E' || tag == 'F';
    }

    private void ready(Frame f, Consumer<Frame> out) {
        switch (f.tag()) {
            case 'Q' -> query(f, out);
            case 'P' -> parse(f, out);
            case 'B' -> bind(f, out);
            case 'E' -> execute(f, out);
            case 'D' -> {
                ByteBuf b = f.body();
                boolean statement = b.isReadable() && b.getByte(b.readerIndex()) == 'S';
                queue.push(statement ? ResponseQueue.DESCRIBE_STATEMENT : ResponseQueue.DESCRIBE_PORTAL, null);
                out.accept(f);
            }
            case 'C' -> close(f, out);
            case 'S' -> {
                queue.push(ResponseQueue.SYNC, null);
                syncEpoch++;
                out.accept(f);
            }
            case 'F' -> {
                queue.push(ResponseQueue.FUNCTION_CALL, null);
                out.accept(f);
            }
            case 'c', 'f' -> {
                // A second marker right behind the first says nothing more (the server ignores a
                // CopyDone outside COPY); kept once, a flood of them cannot grow the queue. With
                // nothing queued, no COPY can be starting that it would end (the server ended it
                // already, with an error the client had not read): it is not kept at all, or it
                // would count as an owed answer until the backend's next message.
                if (!queue.isEmpty() && queue.tailKind() != ResponseQueue.COPY_END) {
                    queue.push(ResponseQueue.COPY_END, null);
                }
                out.accept(f);
            }
            default -> out.accept(f); // Flush, CopyData, Terminate, unknown: carried, answer nothing
        }
    }

    private void copyIn(Frame f, Consumer<Frame> out) {
        switch (f.tag()) {
            case 'd', 'H', 'S', 'X' -> out.accept(f); // Sync and Flush are ignored by the backend in COPY IN
            case 'c', 'f' -> {
                transition(State.READY);
                out.accept(f);
            }
            default -> {
                if (guarding()) {
                    failClosedFromClient(f, out, "the client sent '" + (char) f.tag() + "' during COPY IN");
                } else {
                    transition(State.UNTRACKED);
                    out.accept(f);
                }
            }
        }
    }

    private void query(Frame f, Consumer<Frame> out) {
        QueryPlan plan = null;
        Frame send = f;
        if (takeCancel()) {
            // Nothing of the text runs: the refusal in front of it fails the whole Query, as a
            // cancel would have.
            Rewrite rewrite = cancelled(f.body());
            plan = rewrite.plan();
            send = new Frame((byte) 'Q', rewrite.body());
            f.release();
        } else if (restrictionOn()) {
            ByteBuf body = f.body();
            int len = queryTextLength(body);
            Ahead a = aheadFor(f);
            byte[] text;
            int off;
            boolean concern;
            if (a != null) {
                text = a.text;
                off = 0;
                concern = a.mayConcern;
            } else {
                text = text(body, body.readerIndex(), len);
                off = textOffset(body, body.readerIndex());
                concern = len > 0 && mayConcernRoles(text, off, len);
            }
            if (concern) {
                Rewrite rewrite = planQuery(text, off, len, body.alloc(), a);
                if (rewrite != null) {
                    plan = rewrite.plan();
                    send = new Frame((byte) 'Q', rewrite.body());
                    f.release();
                }
            }
        }
        queue.push(ResponseQueue.QUERY, plan);
        out.accept(send);
    }

    /** A Query's text: its body without the terminating NUL. */
    private static int queryTextLength(ByteBuf body) {
        return Math.max(0, body.readableBytes() - 1);
    }

    private void parse(Frame f, Consumer<Frame> out) {
        ByteBuf b = f.body();
        int r = b.readerIndex();
        if (GateWire.nameIs(b, r, GUARD_NAME) && restrictionOn()) {
            failClosedFromClient(f, out, "the client used the reserved statement name " + GUARD_NAME);
            return;
        }
        int qStart = GateWire.afterName(b, r);
        int len = GateWire.cstringLength(b, qStart);
        Analysis analysis = null;
        Ahead a = aheadFor(f);
        if (a != null) {
            if (a.mayConcern) {
                analysis = analyzePrepared(a.text, 0, len, a);
            }
        } else if (len > 0) {
            byte[] text = text(b, qStart, len);
            int off = textOffset(b, qStart);
            if (mayConcernRoles(text, off, len)) {
                analysis = analyzePrepared(text, off, len, null);
            }
        }
        queue.push(ResponseQueue.PARSE, assign(statements, b, r, analysis));
        out.accept(f);
    }

    private void bind(Frame f, Consumer<Frame> out) {
        ByteBuf b = f.body();
        int r = b.readerIndex();
        int s = GateWire.afterName(b, r);
        if ((GateWire.nameIs(b, r, GUARD_NAME) || GateWire.nameIs(b, s, GUARD_NAME)) && restrictionOn()) {
            failClosedFromClient(f, out, "the client used the reserved name " + GUARD_NAME);
            return;
        }
        Analysis analysis = lookup(statements, b, s);
        queue.push(ResponseQueue.BIND, assign(portals, b, r, analysis));
        out.accept(f);
    }

    /*
     * Name-table access by the name's place in a message body. Names are decoded only when the
     * table holds named entries: in the common case, no restricted statement prepared under a
     * name, a Parse, Bind, Execute or Close costs no string. The answers are the table's own: an
     * absent named entry holds nothing, and assigning nothing to it records nothing.
     */

    private Analysis lookup(NameTable table, ByteBuf b, int from) {
        if (table.holdsNoNames() && !GateWire.isUnnamed(b, from)) {
            return null;
        }
        return table.lookup(GateWire.name(b, from), syncEpoch);
    }

    private NameTable.Assignment assign(NameTable table, ByteBuf b, int from, Analysis value) {
        if (value == null && table.holdsNoNames() && !GateWire.isUnnamed(b, from)) {
            return null;
        }
        return table.assign(GateWire.name(b, from), value, syncEpoch);
    }

    private void execute(Frame f, Consumer<Frame> out) {
        ByteBuf b = f.body();
        int r = b.readerIndex();
        Analysis analysis = lookup(portals, b, r);
        boolean reserved = GateWire.nameIs(b, r, GUARD_NAME);
        if (cancelPending && restrictionOn() && !reserved && takeCancel()) {
            // The guard's names are reserved only while the restriction is on; off, the cancel lapses.
            injectGuard(new Guarded(null, CANCELLED), config.get(), b.alloc(), out);
        } else if (analysis != null || reserved) {
            PwgateConfig cfg = config.get();
            if (cfg.parameters().restrictPasswordCommands()) {
                if (reserved) {
                    failClosedFromClient(f, out, "the client used the reserved portal name " + GUARD_NAME);
                    return;
                }
                Decision d = GatePolicy.decide(analysis, cfg, session.sessionAuthorization());
                if (d.action() != Decision.Action.NONE) {
                    injectGuard(new Guarded(analysis, d), cfg, b.alloc(), out);
                }
            }
        }
        queue.push(ResponseQueue.EXECUTE, null);
        out.accept(f);
    }

    private void injectGuard(Guarded g, PwgateConfig cfg, ByteBufAllocator alloc, Consumer<Frame> out) {
        String sql = GuardSql.forDecision(g.decision(), cfg.gateRole());
        if (g.analysis() != null) {
            audit.guardInjected();
        }
        // Reserved names only: the unnamed statement and portal belong to the client.
        out.accept(GateWire.close(alloc, (byte) 'P', GUARD_NAME));
        queue.push((byte) (ResponseQueue.CLOSE | ResponseQueue.INJECTED), null);
        out.accept(GateWire.close(alloc, (byte) 'S', GUARD_NAME));
        queue.push((byte) (ResponseQueue.CLOSE | ResponseQueue.INJECTED), null);
        out.accept(GateWire.parse(alloc, GUARD_NAME, sql));
        queue.push((byte) (ResponseQueue.PARSE | ResponseQueue.INJECTED), null);
        out.accept(GateWire.bind(alloc, GUARD_NAME, GUARD_NAME));
        queue.push((byte) (ResponseQueue.BIND | ResponseQueue.INJECTED), null);
        out.accept(GateWire.execute(alloc, GUARD_NAME));
        queue.push(ResponseQueue.GUARD_EXECUTE, g);
    }

    private void close(Frame f, Consumer<Frame> out) {
        ByteBuf b = f.body();
        int r = b.readerIndex();
        NameTable.Assignment assignment = null;
        if (b.isReadable()) {
            byte kind = b.getByte(r);
            NameTable table = kind == 'S' ? statements : kind == 'P' ? portals : null;
            if (table != null) {
                assignment = assign(table, b, r + 1, null);
            }
        }
        queue.push(ResponseQueue.CLOSE, assignment);
        out.accept(f);
    }

    // ---------------------------------------------------------------- backend -> client

    @Override
    public void onBackendFrame(Frame f, Consumer<Frame> toClient) {
        byte tag = f.tag();
        if (tag == 'D' || tag == 'd') { // DataRow, CopyData: the bulk of the traffic, never counted
            if (state == State.CLOSED) {
                f.release();
            } else {
                toClient.accept(f);
            }
            return;
        }
        switch (state) {
            case CLOSED -> {
                f.release();
                return;
            }
            case UNTRACKED, BACKEND_GONE -> {
                toClient.accept(f);
                return;
            }
            default -> { }
        }
        while (queue.headKind() == ResponseQueue.COPY_END) {
            queue.pop(); // answered by nothing
        }
        switch (tag) {
            case 'N', 'A', 'c' -> toClient.accept(f); // notice, notification, CopyDone of COPY OUT
            case 'S' -> {
                lexing.noteReported(session); // the relay applied it to the session already
                toClient.accept(f);
            }
            case 'E' -> error(f, toClient);
            case 'Z' -> readyForQuery(f, toClient);
            case '1' -> completion(f, ResponseQueue.PARSE, toClient);
            case '2' -> completion(f, ResponseQueue.BIND, toClient);
            case '3' -> completion(f, ResponseQueue.CLOSE, toClient);
            case 't' -> {
                if (queue.headKind() == ResponseQueue.DESCRIBE_STATEMENT) {
                    toClient.accept(f);
                } else {
                    lostTrack(f, toClient, "ParameterDescription");
                }
            }
            case 'T', 'n' -> describeEnd(f, toClient);
            case 'C' -> commandComplete(f, toClient);
            case 'I', 's', 'G', 'W', 'H' -> statementAnswer(f, toClient);
            case 'V' -> {
                if (queue.headKind() == ResponseQueue.FUNCTION_CALL) {
                    toClient.accept(f);
                } else {
                    lostTrack(f, toClient, "FunctionCallResponse");
                }
            }
            default -> toClient.accept(f); // unknown: carried
        }
    }

    private void completion(Frame f, byte expected, Consumer<Frame> toClient) {
        byte k = queue.headKind();
        if ((k & ~ResponseQueue.INJECTED) != expected) {
            lostTrack(f, toClient, "completion '" + (char) f.tag() + "'");
            return;
        }
        Object attachment = queue.headAttachment();
        queue.pop();
        if (attachment instanceof NameTable.Assignment a) {
            NameTable.succeeded(a);
        }
        if ((k & ResponseQueue.INJECTED) != 0) {
            f.release();
        } else {
            toClient.accept(f);
        }
    }

    private void describeEnd(Frame f, Consumer<Frame> toClient) {
        byte k = queue.headKind();
        if (k == ResponseQueue.DESCRIBE_STATEMENT || k == ResponseQueue.DESCRIBE_PORTAL) {
            queue.pop();
            toClient.accept(f);
        } else if (f.tag() == 'T' && k == ResponseQueue.QUERY && !atGuard()) {
            toClient.accept(f);
        } else {
            lostTrack(f, toClient, "'" + (char) f.tag() + "' outside Describe");
        }
    }

    /** EmptyQueryResponse, PortalSuspended, CopyIn/Out/BothResponse: client statements only. */
    private void statementAnswer(Frame f, Consumer<Frame> toClient) {
        byte tag = f.tag();
        byte k = queue.headKind();
        boolean query = k == ResponseQueue.QUERY && !atGuard() && tag != 's';
        if (!query && k != ResponseQueue.EXECUTE) {
            lostTrack(f, toClient, "'" + (char) tag + "'");
            return;
        }
        if (tag == 'G' || tag == 'W') {
            if (!queue.dropSyncsUntilCopyEnd()) {
                transition(State.COPY_IN);
            }
        } else if (k == ResponseQueue.EXECUTE && (tag == 'I' || tag == 's')) {
            queue.pop();
        }
        toClient.accept(f);
    }

    private boolean atGuard() {
        return queue.headAttachment() instanceof QueryPlan plan && plan.current() != null;
    }

    private void commandComplete(Frame f, Consumer<Frame> toClient) {
        byte k = queue.headKind();
        if (k == ResponseQueue.QUERY) {
            if (queue.headAttachment() instanceof QueryPlan plan) {
                Guarded g = plan.current();
                plan.completed();
                if (g != null) {
                    guardCompleted(f, g, toClient);
                    return;
                }
            }
        } else if (k == ResponseQueue.EXECUTE) {
            queue.pop();
        } else if (k == ResponseQueue.GUARD_EXECUTE) {
            Guarded g = (Guarded) queue.headAttachment();
            queue.pop();
            guardCompleted(f, g, toClient);
            return;
        } else {
            lostTrack(f, toClient, "CommandComplete");
            return;
        }
        if (!statements.isEmpty() || !portals.isEmpty()) {
            if (GateWire.commandTagIs(f.body(), "DISCARD ALL")) {
                statements.clearConfirmed();
                portals.clearConfirmed();
            } else if (GateWire.commandTagIs(f.body(), "DEALLOCATE ALL")) {
                statements.clearConfirmed();
            }
        }
        toClient.accept(f);
    }

    private void guardCompleted(Frame f, Guarded g, Consumer<Frame> toClient) {
        if (g.decision().action() != Decision.Action.GUARD || !GateWire.commandTagIs(f.body(), "DO")) {
            lostTrack(f, toClient, "the guard's completion is not DO");
            return;
        }
        f.release();
        audit.record(session, g, AuditLog.Verdict.ALLOWED);
    }

    private void error(Frame f, Consumer<Frame> toClient) {
        if (BackendCodec.isFatalError(f.body())) {
            transition(State.BACKEND_GONE);
            toClient.accept(f);
            return;
        }
        byte k = queue.headKind();
        Frame send = f;
        switch (k) {
            case ResponseQueue.QUERY -> {
                QueryPlan plan = queue.headAttachment() instanceof QueryPlan p ? p : null;
                if (plan != null) {
                    Guarded g = plan.current();
                    if (g != null) {
                        send = GateWire.stripToNative(f);
                        audit.record(session, g, AuditLog.Verdict.REFUSED);
                    }
                    plan.failed();
                }
                if (state == State.COPY_IN) {
                    transition(State.READY);
                }
            }
            case ResponseQueue.SYNC, ResponseQueue.FUNCTION_CALL -> { } // e.g. the implicit COMMIT at Sync failed
            case 0 -> {
                lostTrack(f, toClient, "ErrorResponse with nothing pending");
                return;
            }
            default -> {
                // An extended-query message failed: the backend skips everything up to the Sync.
                if (k == ResponseQueue.GUARD_EXECUTE) {
                    send = GateWire.stripToNative(f);
                    audit.record(session, (Guarded) queue.headAttachment(), AuditLog.Verdict.REFUSED);
                    queue.pop();
                }
                skipToSync();
            }
        }
        toClient.accept(send);
    }

    /** Drops every queued entry up to the next SYNC: the backend answers none of them. */
    private void skipToSync() {
        while (!queue.isEmpty() && queue.headKind() != ResponseQueue.SYNC) {
            Object attachment = queue.headAttachment();
            if (attachment instanceof NameTable.Assignment a) {
                NameTable.failed(a);
            } else if (queue.headKind() == ResponseQueue.GUARD_EXECUTE) {
                audit.record(session, (Guarded) attachment, AuditLog.Verdict.SKIPPED);
            }
            queue.pop();
        }
        transition(queue.isEmpty() ? State.SKIPPING : State.READY);
    }

    private void readyForQuery(Frame f, Consumer<Frame> toClient) {
        byte k = queue.headKind();
        if (k == ResponseQueue.QUERY) {
            if (queue.headAttachment() instanceof QueryPlan plan) {
                if (!plan.completedAsExpected()) {
                    lostTrack(f, toClient, "the query completed a different number of statements than it held");
                    return;
                }
                for (Guarded g : plan.notReached()) {
                    audit.record(session, g, AuditLog.Verdict.SKIPPED);
                }
            }
        } else if (k != ResponseQueue.SYNC && k != ResponseQueue.FUNCTION_CALL) {
            lostTrack(f, toClient, "ReadyForQuery");
            return;
        }
        queue.pop();
        if (state == State.COPY_IN) {
            transition(State.READY);
        }
        ByteBuf b = f.body();
        if (b.isReadable() && b.getByte(b.readerIndex()) == 'I') {
            portals.clearConfirmed(); // the transaction ended: its portals are gone
        }
        toClient.accept(f);
    }

    // ---------------------------------------------------------------- failing closed

    /** True when losing track could let a restricted statement through or show an injected answer. */
    private boolean guarding() {
        return restrictionOn() || queue.containsInjected();
    }

    private void lostTrack(Frame f, Consumer<Frame> toClient, String what) {
        if (guarding()) {
            log.error("session {}: the backend's answers are out of step with what pwgate forwarded ({}); closing the session",
                    session.sessionId(), what);
            ByteBufAllocator alloc = f.body().alloc();
            f.release();
            transition(State.CLOSED);
            toClient.accept(GateWire.error(alloc, "FATAL", "XX000",
                    "pwgate lost track of the server's answers and closed the session"));
        } else {
            log.warn("session {}: the backend's answers are out of step with what pwgate forwarded ({}); the gate stops tracking this session",
                    session.sessionId(), what);
            transition(State.UNTRACKED);
            toClient.accept(f);
        }
    }

    private void failClosedFromClient(Frame f, Consumer<Frame> toBackend, String why) {
        log.error("session {}: {}; closing the session", session.sessionId(), why);
        ByteBufAllocator alloc = f.body().alloc();
        f.release();
        transition(State.CLOSED);
        terminateSent = true;
        toBackend.accept(GateWire.terminate(alloc));
    }

    @Override
    public boolean sessionMustEnd() {
        return state == State.CLOSED;
    }

    /** CopyData and DataRow pass in every state but CLOSED (see onClientFrame, onBackendFrame). */
    @Override
    public boolean passesDataUnseen() {
        return state != State.CLOSED;
    }

    /** The queue's length while it is kept exact; in UNTRACKED, BACKEND_GONE and CLOSED nothing is counted. */
    @Override
    public int pendingAnswers() {
        return state == State.READY || state == State.SKIPPING || state == State.COPY_IN ? queue.size() : 0;
    }

    @Override
    public void close() {
        queue.clear();
        scratch = null;
    }

    // ---------------------------------------------------------------- analysis ahead, off the loop

    /**
     * A Query (restriction on) or Parse whose text is {@value #AHEAD_TEXT} bytes or more (less
     * when it has more readings, see {@link #AHEAD_TEXT}) is classified on the analysis executor first: at 5–10 ms a megabyte, and more for text built to
     * be slow, its analysis would hold up every session on the event loop. What the worker computes
     * depends only on the text and on a copy of the lexing window taken now; back on the loop,
     * {@link #onClientFrame} uses it for every setting it was computed under, and classifies
     * there only under a setting that joined the window meanwhile (a ParameterStatus that came in
     * between: rare). The relay holds the client's later frames back until then.
     */
    @Override
    public CompletableFuture<Void> prepare(Frame f) {
        ByteBuf b = f.body();
        if (b.readableBytes() < AHEAD_TEXT_MIN || state != State.READY) { // every frame comes here: cheap first
            return null;
        }
        int from;
        int len;
        if (f.tag() == 'Q' && restrictionOn()) {
            from = b.readerIndex();
            len = queryTextLength(b);
        } else if (f.tag() == 'P') {
            from = GateWire.afterName(b, b.readerIndex());
            len = GateWire.cstringLength(b, from);
        } else {
            return null;
        }
        if (len < AHEAD_TEXT_MIN) {
            return null;
        }
        LexingWindow.Snapshot window = lexing.snapshot(session, queue.isEmpty());
        if ((long) len * window.candidates().size() < 2L * AHEAD_TEXT) {
            return null;
        }
        Ahead a = new Ahead(f, from, len, window);
        try {
            CompletableFuture<Void> done = CompletableFuture.runAsync(a, analysis);
            ahead = a;
            return done;
        } catch (RejectedExecutionException e) {
            return null; // shutting down: analysed on the loop, as before
        }
    }

    /**
     * What PostgreSQL answers a statement cancelled as it starts: refused in band, with 57014, so
     * that the transaction state is the server's own (an open transaction block is aborted). No
     * audit line: the refusal is not about a password command.
     */
    static final Decision CANCELLED = Decision.refuse(SqlState.QUERY_CANCELED, "canceling statement due to user request");

    @Override
    public void cancelHeld() {
        cancelPending = true;
        cancelApplied = false;
    }

    /** Uses up a pending cancel: true if there was one, which the caller now refuses its statement for. */
    private boolean takeCancel() {
        if (!cancelPending) {
            return false;
        }
        cancelPending = false;
        cancelApplied = true;
        return true;
    }

    @Override
    public boolean cancelApplied() {
        boolean applied = cancelApplied;
        cancelPending = false;
        cancelApplied = false;
        return applied;
    }

    /** The Query body with the cancellation in front of the client's text, and its plan: one guard, at the start. */
    private Rewrite cancelled(ByteBuf body) {
        String refusal = GuardSql.refusal(CANCELLED.sqlState(), CANCELLED.message());
        ByteBuf out = body.alloc().buffer(refusal.length() + 2 + body.readableBytes());
        out.writeCharSequence(refusal, StandardCharsets.US_ASCII);
        out.writeCharSequence("; ", StandardCharsets.US_ASCII);
        out.writeBytes(body, body.readerIndex(), body.readableBytes()); // the text and its NUL
        return new Rewrite(out, new QueryPlan(new Guarded[] {new Guarded(null, CANCELLED)}, -1));
    }

    /** The analysis done ahead for {@code f}, if it is for {@code f} and finished. */
    private Ahead aheadFor(Frame f) {
        Ahead a = ahead;
        return a != null && a.frame == f && a.done ? a : null;
    }

    /**
     * One text's analysis, run once on a worker. Its fields are written there and read on the loop
     * after the relay has been told it is done (through the loop's task queue: a happens-before
     * edge). It only reads the frame, which the relay keeps unreleased meanwhile.
     */
    private final class Ahead implements Runnable {
        final Frame frame;
        private final int from;
        private final int len;
        private final LexingWindow.Snapshot window;
        byte[] text;
        boolean mayConcern;
        Map<LexSettings, Classification> results = Map.of();
        /** Per setting, the redaction of each long restricted statement (by index), null where not done here. */
        private final Map<LexSettings, Redaction[]> redactions = new HashMap<>();
        /** False if the worker could not finish (no memory for the copy): the loop then does it all. */
        boolean done;

        Ahead(Frame frame, int from, int len, LexingWindow.Snapshot window) {
            this.frame = frame;
            this.from = from;
            this.len = len;
            this.window = window;
        }

        @Override
        public void run() {
            try {
                byte[] t = new byte[len];
                frame.body().getBytes(from, t, 0, len);
                mayConcern = mayConcernRoles(t, 0, len);
                if (mayConcern) {
                    Map<LexSettings, Classification> m = new HashMap<>();
                    for (LexSettings s : window.candidates()) {
                        Classification c = classify(t, 0, len, s);
                        m.put(s, c);
                        redactLongStatements(t, s, c);
                    }
                    results = m;
                }
                text = t;
                done = true;
            } catch (OutOfMemoryError e) {
                log.warn("session {}: no memory to analyse a text of {} bytes ahead; analysing it on the event loop",
                        session.sessionId(), len);
            }
        }

        /** Each redaction lexes its statement again: for a long one, that too is done here rather than on the loop. */
        private void redactLongStatements(byte[] t, LexSettings s, Classification c) {
            List<Statement> sts = c.statements();
            Redaction[] rs = null;
            for (int i = 0; i < sts.size(); i++) {
                Statement st = sts.get(i);
                if (st.span().length() >= REDACT_AHEAD && !Analysis.isOther(st) && !st.is(Kind.UNLEXABLE)) {
                    if (rs == null) {
                        rs = new Redaction[sts.size()];
                    }
                    rs[i] = new Redaction(redact(t, 0, st.span(), s));
                }
            }
            if (rs != null) {
                redactions.put(s, rs);
            }
        }

        /** Statement {@code i}'s redaction under {@code s} if it was done here, else null. */
        Redaction redaction(LexSettings s, int i) {
            Redaction[] rs = redactions.get(s);
            return rs == null || i >= rs.length ? null : rs[i];
        }
    }

    /** A redaction done ahead; {@code text} null when the statement could not be redacted. */
    private record Redaction(String text) {}

    // ---------------------------------------------------------------- classification

    /** The bytes of {@code body[index, index+len)} as an array: the buffer's own, or a copy in scratch. */
    private byte[] text(ByteBuf body, int index, int len) {
        if (body.hasArray()) {
            return body.array();
        }
        byte[] buf = scratch;
        if (buf == null || buf.length < len) {
            buf = new byte[Math.max(len, 256)];
            if (len <= SCRATCH_KEEP) {
                scratch = buf;
            }
        }
        body.getBytes(index, buf, 0, len);
        return buf;
    }

    private static int textOffset(ByteBuf body, int index) {
        return body.hasArray() ? body.arrayOffset() + index : 0;
    }

    private boolean mayConcernRoles(byte[] text, int off, int len) {
        try {
            return classifier.mayConcernRoles(text, off, len);
        } catch (RuntimeException | StackOverflowError e) {
            log.warn("session {}: the classifier's fast path failed ({}); classifying in full",
                    session.sessionId(), e.getClass().getSimpleName());
            return true;
        }
    }

    /** Never throws: a classifier failure reads as one UNLEXABLE statement (fail closed). */
    private Classification classify(byte[] text, int off, int len, LexSettings settings) {
        try {
            return classifier.classify(text, off, len, settings);
        } catch (RuntimeException | StackOverflowError e) {
            log.warn("session {}: the classifier failed ({}); treating the text as unlexable",
                    session.sessionId(), e.getClass().getSimpleName());
            return new Classification(List.of(new Statement(new Span(0, len), Set.of(Kind.UNLEXABLE), List.of(),
                    List.of(), List.of(), List.of(), false, false, false)));
        }
    }

    private String redact(byte[] text, int off, Span span, LexSettings settings) {
        try {
            return classifier.redact(text, off + span.start(), span.length(), settings);
        } catch (RuntimeException | StackOverflowError e) {
            return null;
        }
    }

    /** Under each setting, as classified ahead when it was (the setting may have joined since). */
    private List<Classification> classifyAll(byte[] text, int off, int len, List<LexSettings> settings, Ahead prepared) {
        List<Classification> out = new ArrayList<>(settings.size());
        for (LexSettings s : settings) {
            Classification c = prepared == null ? null : prepared.results.get(s);
            out.add(c != null ? c : classify(text, off, len, s));
        }
        // The other standard_conforming_strings value is read for a change the gate cannot see
        // coming. Where the text cannot be lexed under it but can under the value in force, in
        // the same encoding, PostgreSQL in that setting would reject the whole text (SELECT 'C:\'
        // read with backslash escapes never ends): nothing of it would run, so that reading
        // decides nothing. (It made every text with such a literal a refusal for non-members.)
        // Only a real scanner error counts: not an ambiguity or a failure of the classifier.
        for (int k = settings.size() - 1; k > 0; k--) {
            LexSettings s = settings.get(k);
            for (int j = 0; j < k; j++) {
                LexSettings t = settings.get(j);
                if (t.clientEncoding().equals(s.clientEncoding()) && t.standardConformingStrings() != s.standardConformingStrings()
                        && wholeUnlexable(out.get(k)) && !wholeUnlexable(out.get(j))
                        && classifier.lexesWithAnError(text, off, len, s)) {
                    out.remove(k);
                    settings.remove(k);
                    break;
                }
            }
        }
        return out;
    }

    /** The classifier's answer for a text it could not lex at all. */
    private static boolean wholeUnlexable(Classification c) {
        return c.statements().size() == 1 && c.statements().get(0).kinds().equals(Set.of(Kind.UNLEXABLE));
    }

    /** A prepared statement's analysis: every statement under every reading (its spans do not matter). */
    private Analysis analyzePrepared(byte[] text, int off, int len, Ahead prepared) {
        List<LexSettings> settings = lexing.candidates(session, queue.isEmpty());
        List<Classification> cs = classifyAll(text, off, len, settings, prepared);
        List<Analysis.Reading> readings = new ArrayList<>();
        for (Classification c : cs) {
            for (Statement st : c.statements()) {
                if (!Analysis.isOther(st)) {
                    readings.add(new Analysis.Reading(st, changesRole(text, off, st.span())));
                }
            }
        }
        if (readings.isEmpty()) {
            return null;
        }
        String redacted = null;
        if (cs.stream().allMatch(c -> c.statements().size() == 1)) {
            redacted = redactAgreed(text, off, cs, settings, 0, prepared);
        }
        return new Analysis(readings, redacted);
    }

    /** The redaction of statement {@code i} when every reading lexes it and redacts it the same way. */
    private String redactAgreed(byte[] text, int off, List<Classification> cs, List<LexSettings> settings, int i,
                                Ahead prepared) {
        String agreed = null;
        for (int k = 0; k < cs.size(); k++) {
            Statement st = cs.get(k).statements().get(i);
            if (st.is(Kind.UNLEXABLE)) {
                return null;
            }
            Redaction ahead = prepared == null ? null : prepared.redaction(settings.get(k), i);
            String r = ahead != null ? ahead.text() : redact(text, off, st.span(), settings.get(k));
            if (r == null || (agreed != null && !agreed.equals(r))) {
                return null;
            }
            agreed = r;
        }
        return agreed;
    }

    /** The rewritten Query body and how its answer lines up. */
    private record Rewrite(ByteBuf body, QueryPlan plan) {}

    private Rewrite planQuery(byte[] text, int off, int len, ByteBufAllocator alloc, Ahead prepared) {
        List<LexSettings> settings = lexing.candidates(session, queue.isEmpty());
        List<Classification> cs = classifyAll(text, off, len, settings, prepared);
        PwgateConfig cfg = config.get();
        String user = session.sessionAuthorization();
        List<Integer> at = new ArrayList<>();
        List<Guarded> guards = new ArrayList<>();
        List<Guarded> slots = new ArrayList<>();
        int expected;
        if (readingsAgree(cs)) {
            // Every reading splits the text the same way: a guard right in front of each restricted statement.
            List<Statement> first = cs.get(0).statements();
            for (int i = 0; i < first.size(); i++) {
                List<Analysis.Reading> readings = new ArrayList<>();
                for (Classification c : cs) {
                    Statement st = c.statements().get(i);
                    if (!Analysis.isOther(st)) {
                        readings.add(new Analysis.Reading(st, changesRole(text, off, st.span())));
                    }
                }
                if (!readings.isEmpty()) {
                    Decision d = GatePolicy.decide(new Analysis(readings, null), cfg, user);
                    if (d.action() != Decision.Action.NONE) {
                        Guarded g = new Guarded(new Analysis(readings, redactAgreed(text, off, cs, settings, i, prepared)), d);
                        at.add(first.get(i).span().start());
                        guards.add(g);
                        slots.add(g);
                    }
                }
                slots.add(null); // the client's statement
            }
            expected = slots.size();
        } else {
            // The readings disagree on where statements are (a lexing setting is in flight and the
            // text depends on it) or one cannot be lexed: one guard, at the start of the text, which
            // is a statement boundary under every setting, decided by the strictest reading.
            List<Analysis.Reading> readings = new ArrayList<>();
            for (Classification c : cs) {
                for (Statement st : c.statements()) {
                    if (!Analysis.isOther(st)) {
                        readings.add(new Analysis.Reading(st, changesRole(text, off, st.span())));
                    }
                }
            }
            Analysis a = new Analysis(readings, null);
            Decision d = GatePolicy.decide(a, cfg, user);
            if (d.action() != Decision.Action.NONE) {
                Guarded g = new Guarded(a, d);
                at.add(0);
                guards.add(g);
                slots.add(g);
            }
            expected = -1;
        }
        if (guards.isEmpty()) {
            return null;
        }
        ByteBuf out = alloc.buffer(len + guards.size() * 400 + 1);
        int prev = 0;
        for (int g = 0; g < guards.size(); g++) {
            int pos = at.get(g);
            out.writeBytes(text, off + prev, pos - prev);
            out.writeCharSequence(GuardSql.forDecision(guards.get(g).decision(), cfg.gateRole()), StandardCharsets.US_ASCII);
            audit.guardInjected();
            out.writeCharSequence("; ", StandardCharsets.US_ASCII);
            prev = pos;
        }
        out.writeBytes(text, off + prev, len - prev);
        out.writeByte(0);
        return new Rewrite(out, new QueryPlan(slots.toArray(new Guarded[0]), expected));
    }

    /** True when every reading has the same statement spans and none is unlexable. */
    private static boolean readingsAgree(List<Classification> cs) {
        List<Statement> first = cs.get(0).statements();
        for (Classification c : cs) {
            List<Statement> sts = c.statements();
            if (sts.size() != first.size()) {
                return false;
            }
            for (int i = 0; i < sts.size(); i++) {
                if (!sts.get(i).span().equals(first.get(i).span()) || sts.get(i).is(Kind.UNLEXABLE)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The statement's first keyword is CREATE or DROP (ASCII, case-insensitive). */
    /**
     * Whether the statement at {@code span} creates, drops or alters a role itself: CREATE, DROP, or
     * ALTER other than ALTER GROUP (whose only forms are ADD|DROP USER and RENAME, which the
     * classifier reports). A comment between ALTER and GROUP makes it count as altering: stricter.
     */
    static boolean changesRole(byte[] text, int off, Span span) {
        int s = off + span.start();
        int e = off + span.end();
        if (keywordAt(text, s, e, "create") || keywordAt(text, s, e, "drop")) {
            return true;
        }
        if (!keywordAt(text, s, e, "alter")) {
            return false;
        }
        int p = s + 5;
        while (p < e && (text[p] == ' ' || text[p] == '\t' || text[p] == '\n' || text[p] == '\r' || text[p] == '\f')) {
            p++;
        }
        return !keywordAt(text, p, e, "group");
    }

    private static boolean keywordAt(byte[] t, int i, int end, String word) {
        int n = word.length();
        if (end - i < n) {
            return false;
        }
        for (int k = 0; k < n; k++) {
            if ((t[i + k] | 0x20) != word.charAt(k)) {
                return false;
            }
        }
        if (i + n == end) {
            return true;
        }
        int c = t[i + n] & 0xff;
        return !(Character.isLetterOrDigit(c) || c == '_' || c == '$' || c >= 0x80);
    }
}
