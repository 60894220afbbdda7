package org.pwgate.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundInvoker;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.backend.BackendSession;
import org.pwgate.proxy.cancel.Cancel;
import org.pwgate.proxy.gate.SessionGate;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.metrics.QueryTracker;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrameEncoder;
import org.pwgate.proxy.protocol.MalformedMessageException;
import org.pwgate.proxy.protocol.ProtocolViolation;
import org.pwgate.proxy.protocol.SqlState;
import org.pwgate.proxy.protocol.Tag;
import org.pwgate.proxy.session.SessionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays an established session between the client channel and its backend channel (both on one
 * event loop: no locks). Every frame goes through the session's gate (data runs aside, below);
 * frames are written as they come and flushed once per read batch. Each side's FrameDecoder
 * hands its frames straight to the relay ({@link FrameDecoder#deliverTo}), not as one pipeline
 * event per frame.
 *
 * <pre>
 *   client --Frame--> FromDecoder --gate.onClientFrame--> backend.write ... flush on readComplete
 *   client <--Frame-- gate.onBackendFrame <--FromDecoder-- backend   (ParameterStatus noted first)
 * </pre>
 *
 * Data messages (CopyData either way, DataRow from the backend) are most of the messages of a
 * COPY or a large result, and the gate passes them unchanged in every state but one. While
 * {@link SessionGate#passesDataUnseen} says so, the decoders hand a run of them over as one range
 * of bytes, which joins the span like a passed-on frame: no Frame, slice or gate call per row.
 * A data message of {@link FrameDecoder#STREAMED_DATA} bytes or more goes on as its bytes come,
 * so a large row or CopyData is bounded by the write-buffer water marks like any stream, not
 * gathered whole first. Once a side has streamed a megabyte of them in a row, {@link BulkReads}
 * has the kernel wake the loop for that socket per 32 KiB instead of per packet, until the stream
 * pauses or ends.
 *
 * Backpressure: after a batch, a side whose peer is not writable stops reading (autoRead off) and
 * resumes when the peer's writability comes back. The client's side also stops while the backend
 * owes {@link #OWED_HIGH} answers or more ({@link SessionGate#pendingAnswers}), until they are
 * down to {@link #OWED_LOW}: each owed answer is an entry in the gate's accounting, and a client
 * that pipelines without reading its answers could otherwise make pwgate hold millions of them
 * (a few megabytes of 5-byte Syncs fit in the socket buffers between pwgate and the backend).
 *
 * A client frame whose handling the gate does ahead off the loop ({@link SessionGate#prepare}, the
 * analysis of a long text) waits for it, and so does every client frame behind it: the relay
 * holds them in order and stops reading the client until the work is done. Meanwhile the backend
 * side goes on, so other sessions on the loop and this session's earlier answers are not held up.
 *
 * End: Terminate or a client disconnect closes the backend; a backend disconnect gives the client
 * the backend's own fatal error if it sent one, else FATAL 08006, and closes it (only closes it
 * when the client has part of a streamed message, which an error would corrupt).
 */
public final class SessionRelay {
    private static final Logger log = LoggerFactory.getLogger(SessionRelay.class);
    public static final String CLIENT_HANDLER = "relay";
    public static final String BACKEND_HANDLER = "relay";

    /**
     * Owed answers at which pwgate stops reading the client, and at which it reads again. Far
     * above any useful pipeline depth; one read of the client (64 KiB at most) may add another
     * 13,000 Syncs on top before the pause takes effect. The low mark stays above what PostgreSQL
     * can hold back unflushed until the client's next Sync or Flush (its 8 KiB output buffer, at 5
     * bytes for the smallest answer), so the answers already owed always bring the count below it.
     */
    static final int OWED_HIGH = 16_384;
    static final int OWED_LOW = 4_096;

    private final String connId;
    private final Channel client;
    private final Channel backend;
    private final SessionState state;
    private final SessionGate gate;
    private final Runnable onEnd;
    private final Outbound toBackendWire;
    private final Outbound toClientWire;
    private final BulkReads clientReads;
    private final BulkReads backendReads;
    private final Consumer<Frame> toBackend;
    private final Consumer<Frame> toClient;
    /** Bytes read from the client and written to it since the last read batch ended: counted once per batch. */
    private long bytesIn;
    private long bytesOut;
    private final PwgateMetrics metrics;
    private final QueryTracker tracker;
    private boolean backendSentFatal;
    private boolean ended;
    /** The client is not read because the backend owes {@link #OWED_HIGH} answers or more. */
    private boolean heldForAnswers;
    /** The client frame whose handling the gate is preparing off the loop; null when none. */
    private Frame preparing;
    /** Client frames that arrived behind {@link #preparing}, in order. */
    private final ArrayDeque<Frame> heldBehind = new ArrayDeque<>();
    /** The backend's decoder, once the relay has the channel: it knows whether the client is mid-message. */
    private FrameDecoder backendDecoder;
    /** A cancel the gate was asked to apply to the held frames; null when none. */
    private Cancel heldCancel;

    public SessionRelay(String connId, Channel client, Channel backend, SessionState state, SessionGate gate,
                        PwgateMetrics metrics, QueryTracker tracker, Runnable onEnd) {
        this.connId = connId;
        this.client = client;
        this.backend = backend;
        this.state = state;
        this.gate = gate;
        this.metrics = metrics;
        this.tracker = tracker;
        this.onEnd = onEnd;
        this.toBackendWire = new Outbound(backend);
        this.toClientWire = new Outbound(client);
        this.clientReads = new BulkReads(client);
        this.backendReads = new BulkReads(backend);
        this.toBackend = toBackendWire::send;
        // Counted after the gate: what the client really receives.
        this.toClient = f -> {
            bytesOut += f.wireLength();
            if (f.tag() == Tag.READY_FOR_QUERY && f.body().isReadable()) {
                tracker.readyForQuery(f.body().getByte(f.body().readerIndex()));
            }
            toClientWire.send(f);
        };
    }

    /**
     * A CancelRequest with this session's key came (any thread). If the statement the client waits
     * for is still held here, in preparation or behind it, with nothing else in flight, the backend
     * is idle and would drop the cancel: the gate refuses that statement in band instead
     * ({@link SessionGate#cancelHeld}), and the cancel is settled, not forwarded, where it could
     * meet the client's next statement. If the held frames go on without a statement to refuse, it
     * is forwarded then. Otherwise it is forwarded at once.
     */
    public void cancelRequested(Cancel cancel) {
        try {
            client.eventLoop().execute(() -> {
                if (!ended && preparing != null && heldCancel == null && gate.pendingAnswers() == 0) {
                    gate.cancelHeld();
                    heldCancel = cancel;
                } else {
                    cancel.forward();
                }
            });
        } catch (RejectedExecutionException stopping) {
            cancel.forward(); // pwgate is shutting down: forwarding is all there is
        }
    }

    /** The held frames have gone on: a cancel the gate did not apply is forwarded now. */
    private void settleHeldCancel() {
        Cancel cancel = heldCancel;
        if (cancel != null) {
            heldCancel = null;
            if (gate.cancelApplied()) {
                cancel.settle("refused the statement in band");
            } else {
                cancel.forward();
            }
        }
    }

    /** Ends the session with {@code error}, e.g. 57P01 at shutdown (any thread). */
    public void terminate(ErrorResponse error) {
        client.eventLoop().execute(() -> {
            toClientWire.emit();
            if (client.isActive()) {
                closeClient(error);
            }
            backend.close();
        });
    }

    /**
     * Takes both channels over: adds the client handler last in the client pipeline, replaces the
     * backend's login handler, then relays what arrived meanwhile on either side.
     */
    public void start(BackendSession session, List<Frame> pendingClientFrames) {
        ClientSide clientSide = new ClientSide();
        BackendSide backendSide = new BackendSide();
        client.pipeline().addLast(CLIENT_HANDLER, clientSide);
        backend.pipeline().replace(BackendConnector.LOGIN_HANDLER, BACKEND_HANDLER, backendSide);
        client.pipeline().get(FrameDecoder.class).deliverTo(new FromDecoder(true));
        backendDecoder = backend.pipeline().get(FrameDecoder.class);
        backendDecoder.deliverTo(new FromDecoder(false));
        client.closeFuture().addListener(f -> end());
        backend.closeFuture().addListener(f -> end());
        for (Frame f : session.takeEarlyFrames()) {
            onBackendFrame(f);
        }
        for (Frame f : pendingClientFrames) {
            onClientFrame(f);
        }
        flushToBackend();
        flushToClient();
        if (!backend.isActive()) {
            onBackendGone();
        }
        if (!client.isActive()) {
            backend.close();
        }
    }

    /**
     * One side's decoder hands its frames here, each with where its wire bytes lie
     * ({@code source[index, ...)}), and, while the gate passes data unseen, its runs of data
     * messages, which go on as they came: they bypass onClientFrame and onBackendFrame, which for
     * data only count the bytes and ask the gate.
     */
    private final class FromDecoder implements FrameDecoder.Sink {
        private final boolean fromClient;
        private final Outbound toPeer;
        private final BulkReads reads;

        FromDecoder(boolean fromClient) {
            this.fromClient = fromClient;
            this.toPeer = fromClient ? toBackendWire : toClientWire;
            this.reads = fromClient ? clientReads : backendReads;
        }

        @Override
        public void frame(Frame frame, ByteBuf source, int index) {
            if (FrameDecoder.isDataMessage(frame.tag(), !fromClient)) {
                reads.data(frame.wireLength());
            } else {
                reads.otherMessage();
            }
            toPeer.arriving(frame, source, index);
            try {
                if (fromClient) {
                    onClientFrame(frame);
                } else {
                    onBackendFrame(frame);
                }
            } finally {
                toPeer.arrived();
            }
        }

        @Override
        public boolean takesDataRuns() {
            // A run from the client would overtake the frames held behind one being prepared.
            return !ended && gate.passesDataUnseen() && !(fromClient && preparing != null);
        }

        @Override
        public void dataRun(ByteBuf source, int index, int length) {
            if (ended) {
                return; // the rest of a streamed message, after the end: nowhere to go
            }
            if (fromClient) {
                bytesIn += length;
            } else {
                bytesOut += length;
            }
            reads.data(length);
            toPeer.passOn(source, index, length);
        }
    }

    private void onClientFrame(Frame frame) {
        if (ended) {
            frame.release();
            return;
        }
        // Counted on arrival: a request held behind one being prepared is already the client's
        // wait (the round-trip metric), and keeps the session from looking idle to a drain.
        if (frame.tag() == Tag.QUERY || frame.tag() == Tag.SYNC || frame.tag() == Tag.FUNCTION_CALL) {
            tracker.requestSent();
        }
        if (preparing != null) {
            heldBehind.add(frame);
            return;
        }
        if (!startPreparing(frame)) {
            relayClientFrame(frame);
        }
    }

    /** True if the gate prepares {@code frame} off the loop: it is relayed once that is done. */
    private boolean startPreparing(Frame frame) {
        CompletableFuture<Void> work = gate.prepare(frame);
        if (work == null) {
            return false;
        }
        preparing = frame;
        client.config().setAutoRead(false); // takes effect after this read: its frames are held
        work.whenComplete((v, e) -> {
            if (e != null) {
                // The gate then analyses the text on the loop, as it did before it was prepared.
                log.warn("{}: the analysis ahead of a long text failed ({}); analysing it on the event loop",
                        connId, e.toString());
            }
            try {
                client.eventLoop().execute(this::prepared);
            } catch (RejectedExecutionException gone) {
                // The event loop has shut down (pwgate is stopping): nothing will relay the frame.
                frame.release();
            }
        });
        return true;
    }

    /**
     * On the loop: the frame being prepared, then those held behind it, go on (until another is
     * prepared). Run as a task, not from a read: what the relay throws goes to the client side's
     * exceptionCaught, as it would from a read, instead of to the loop's log with the session stuck.
     */
    private void prepared() {
        Frame frame = preparing;
        preparing = null;
        if (ended) {
            frame.release();
            releaseHeld();
            return;
        }
        try {
            relayClientFrame(frame);
            while (preparing == null && !heldBehind.isEmpty()) {
                Frame next = heldBehind.poll();
                if (ended) {
                    next.release();
                } else if (!startPreparing(next)) {
                    relayClientFrame(next);
                }
            }
            if (preparing == null) {
                settleHeldCancel();
            }
            flushToBackend();
            readClientIfFree();
        } catch (Throwable e) {
            client.pipeline().fireExceptionCaught(e);
        }
    }

    private void releaseHeld() {
        Frame f;
        while ((f = heldBehind.poll()) != null) {
            f.release();
        }
    }

    /** Reads the client again unless something still holds it: backpressure, owed answers, a frame in preparation. */
    private void readClientIfFree() {
        if (!ended && preparing == null && !heldForAnswers && backend.isWritable()) {
            client.config().setAutoRead(true);
        }
    }

    private void relayClientFrame(Frame frame) {
        boolean terminate = frame.tag() == Tag.TERMINATE;
        bytesIn += frame.wireLength();
        gate.onClientFrame(frame, toBackend);
        if (!heldForAnswers && gate.pendingAnswers() >= OWED_HIGH) {
            // Takes effect after this read: the frames already read still go on.
            heldForAnswers = true;
            client.config().setAutoRead(false);
            log.debug("{}: the backend owes {} answers; not reading the client until it owes {}",
                    connId, gate.pendingAnswers(), OWED_LOW);
        }
        if (gate.sessionMustEnd()) {
            // Refused on the client's side (a reserved name, a message pwgate cannot account for):
            // the client gets a FATAL, the reason is in pwgate's log; only the close while it has
            // part of a streamed row, which the FATAL would corrupt.
            if (!clientMidMessage()) {
                toClientWire.writeBuffer(BackendCodec.encode(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                        "pwgate ended the session: a message broke a rule of its password-command gate (see pwgate's log)"),
                        client.alloc()));
            }
            endAfterFlush();
        } else if (terminate) {
            toBackendWire.emit();
            backend.writeAndFlush(client.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
            client.close();
        }
    }

    private void onBackendFrame(Frame frame) {
        if (ended) {
            // The client is gone and the gate has let go of its accounting: answers still on the
            // way from the backend go nowhere.
            frame.release();
            return;
        }
        try {
            if (frame.tag() == Tag.PARAMETER_STATUS) {
                if (BackendCodec.decode(frame) instanceof BackendMessage.ParameterStatus p) {
                    state.onParameterStatus(p.name(), p.value());
                }
            } else if (frame.tag() == Tag.ERROR_RESPONSE && BackendCodec.isFatalError(frame.body())) {
                backendSentFatal = true;
            }
        } catch (MalformedMessageException e) {
            log.warn("{}: malformed {} from the backend: {}", connId, (char) frame.tag(), e.getMessage());
        }
        gate.onBackendFrame(frame, toClient);
        if (gate.sessionMustEnd()) {
            endAfterFlush();
        }
    }

    /** The gate failed closed: what it handed on (a FATAL for the client, Terminate for the backend) goes out, then both close. */
    private void endAfterFlush() {
        toClientWire.emit();
        toBackendWire.emit();
        client.writeAndFlush(client.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
        backend.writeAndFlush(backend.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
    }

    private void flushToBackend() {
        toBackendWire.flush();
        if (bytesIn != 0) {
            metrics.addBytesIn(bytesIn);
            bytesIn = 0;
        }
    }

    private void flushToClient() {
        toClientWire.flush();
        if (bytesOut != 0) {
            metrics.addBytesOut(bytesOut);
            bytesOut = 0;
        }
    }

    private void onBackendGone() {
        if (!client.isActive()) {
            return;
        }
        toClientWire.emit();
        if (backendSentFatal) {
            client.writeAndFlush(client.alloc().buffer(0)).addListener(ChannelFutureListener.CLOSE);
        } else {
            log.info("{}: the backend closed the connection unexpectedly", connId);
            closeClient(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "server closed the connection unexpectedly"));
        }
    }

    /**
     * No memory for a message of this session (direct buffers are limited by -XX:MaxDirectMemorySize,
     * and many large messages at once can reach it): the session ends, as PostgreSQL's would, with
     * 53200, and the other sessions go on.
     */
    private void outOfMemory(String side, OutOfMemoryError e) {
        log.warn("{}: out of memory for a message on the {} side, ending the session: {}", connId, side, e.getMessage());
        toClientWire.emit();
        if (client.isActive()) {
            closeClient(ErrorResponse.fatal(SqlState.OUT_OF_MEMORY, "out of memory"));
        }
    }

    /** A bug in pwgate ended the session: the client is told so rather than just cut off. */
    private void internalError() {
        toClientWire.emit();
        if (client.isActive()) {
            closeClient(ErrorResponse.fatal(SqlState.INTERNAL_ERROR,
                    "pwgate ended the session after an internal error (see its log)"));
        }
    }

    /**
     * Closes the client's connection after {@code error}, or without it while the client is in
     * the middle of a streamed message ({@link FrameDecoder#midMessage}): bytes written then would
     * be read as the rest of that message. The client sees the connection end, as it would if the
     * backend had died there.
     */
    private void closeClient(ErrorResponse error) {
        ByteBuf buf = clientMidMessage() ? client.alloc().buffer(0) : BackendCodec.encode(error, client.alloc());
        client.writeAndFlush(buf).addListener(ChannelFutureListener.CLOSE);
    }

    /** Whether the client has part of a streamed message from the backend: nothing else may be written to it now. */
    private boolean clientMidMessage() {
        return backendDecoder != null && backendDecoder.midMessage();
    }

    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        // Written to a closed channel, what is joined is released once the write has failed.
        toClientWire.emit();
        toBackendWire.emit();
        // A frame still in preparation is released once the worker is done with it (prepared()).
        releaseHeld();
        if (heldCancel != null) {
            heldCancel.settle("ended before it was applied"); // nothing left to cancel
            heldCancel = null;
        }
        gate.close();
        onEnd.run();
    }

    private static boolean isDisconnect(Throwable cause) {
        return cause instanceof IOException;
    }

    private final class ClientSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Frame frame) {
                onClientFrame(frame);
            } else if (msg instanceof ProtocolViolation v) {
                log.info("{}: protocol violation by the client: {}", connId, v.message());
                toClientWire.emit();
                closeClient(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, v.message()));
                backend.close();
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            clientReads.readComplete();
            flushToBackend();
            if (!backend.isWritable() && client.config().isAutoRead()) {
                client.config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (client.isWritable()) {
                backend.config().setAutoRead(true);
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            backend.close();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (isDisconnect(cause)) {
                log.debug("{}: client connection error: {}", connId, cause.toString());
                client.close();
            } else if (cause instanceof OutOfMemoryError oom) {
                outOfMemory("client", oom);
            } else {
                log.warn("{}: unexpected error on the client side: {}", connId, cause.toString());
                internalError();
            }
            backend.close();
        }
    }

    private final class BackendSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Frame frame) {
                onBackendFrame(frame);
            } else if (msg instanceof ProtocolViolation v) {
                log.warn("{}: protocol violation by the backend: {}", connId, v.message());
                toClientWire.emit();
                closeClient(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "invalid message from the backend server"));
                backend.close();
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            backendReads.readComplete();
            flushToClient();
            if (!client.isWritable() && backend.config().isAutoRead()) {
                backend.config().setAutoRead(false);
            }
            if (heldForAnswers && gate.pendingAnswers() <= OWED_LOW) {
                heldForAnswers = false;
                readClientIfFree();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            readClientIfFree();
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            onBackendGone();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (isDisconnect(cause)) {
                // Once the session has ended, writes still queued fail on the closed channel: expected.
                if (ended) {
                    log.debug("{}: backend connection error after the session ended: {}", connId, cause.toString());
                } else {
                    log.info("{}: backend connection error: {}", connId, cause.toString());
                }
            } else if (cause instanceof OutOfMemoryError oom) {
                outOfMemory("backend", oom);
            } else {
                log.warn("{}: unexpected error on the backend side: {}", connId, cause.toString());
                internalError();
            }
            backend.close();
        }
    }

    /**
     * Writes to one channel. Frames passed on unchanged are not written one by one: their bytes,
     * header included, still lie in the buffer they were read into, next to each other, so a run
     * of them (a read batch of T, D, C, Z) goes out as one slice of that buffer, the span. Every
     * other write ({@link #write}, {@link #writeBuffer}) first writes the span so far, so the order
     * on the wire is the order of the calls. {@link #emit()} writes the span; every write to the
     * channel that does not go through here must come after an emit.
     *
     * <p>Ownership: a frame added to the span is released at once; the span holds one reference
     * to its buffer instead, which the written slice takes over (the channel releases it once
     * written). So the buffer outlives its decoder's hold on it, and leak tracking sees it
     * released through a buffer derived from the one that was read.
     */
    private static final class Outbound {
        /**
         * Writes start at the frame decoder's place in the pipeline: what lies between it and the
         * socket (TLS) still sees them, while the FrameEncoder and the relay behind it, which
         * would only pass bytes on, are not visited per write. Frames are encoded here instead.
         */
        private final ChannelOutboundInvoker out;
        private final Channel ch;
        private ByteBuf span;
        private int spanStart;
        private int spanEnd;
        /**
         * The frame the gate is looking at, from the other side's decoder, and where its bytes
         * are: if the gate sends that very frame on, untouched, it joins the span.
         */
        private Frame arriving;
        private ByteBuf arrivingSource;
        private int arrivingIndex;

        Outbound(Channel ch) {
            this.ch = ch;
            ChannelHandlerContext decoder = ch.pipeline().context(FrameDecoder.class);
            this.out = decoder != null ? decoder : ch;
        }

        void arriving(Frame f, ByteBuf source, int index) {
            arriving = f;
            arrivingSource = source;
            arrivingIndex = index;
        }

        void arrived() {
            arriving = null;
            arrivingSource = null;
        }

        /** Writes {@code f}: into the span when it is the arriving frame, untouched, else on its own. */
        void send(Frame f) {
            if (f == arriving && isUntouched(f)) {
                passOn(arrivingSource, arrivingIndex, f.wireLength());
                f.release();
            } else {
                write(f);
            }
        }

        /** As the decoder cut it: the body is the whole slice after the 5-byte header, so the frame's wire bytes are the slice's. */
        private static boolean isUntouched(Frame f) {
            ByteBuf body = f.body();
            return body.readerIndex() == 5 && body.writerIndex() == body.capacity();
        }

        /** Adds {@code source[index, index + length)}, whole messages as they came, to the span. */
        void passOn(ByteBuf source, int index, int length) {
            if (span == source && index == spanEnd) {
                spanEnd += length;
            } else {
                emit();
                span = source.retain();
                spanStart = index;
                spanEnd = index + length;
            }
        }

        void write(Frame f) {
            emit();
            FrameEncoder.encode(f, ch.alloc(), this::writeBuffer);
        }

        void writeBuffer(ByteBuf buf) {
            emit();
            out.write(buf, ch.voidPromise());
        }

        void emit() {
            ByteBuf s = span;
            if (s == null) {
                return;
            }
            span = null;
            out.write(s.slice(spanStart, spanEnd - spanStart), ch.voidPromise());
        }

        void flush() {
            emit();
            out.flush();
        }
    }
}
