package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts a byte stream into protocol messages, without looking inside them.
 *
 * <pre>
 *   STARTUP: int32 length (incl. itself), body           -> StartupPacket
 *   TAGGED:  byte tag, int32 length (incl. itself), body -> Frame
 *   FAILED:  everything is discarded (after one ProtocolViolation)
 * </pre>
 *
 * A client connection starts in STARTUP mode; the startup handler calls {@link #expectTagged()}
 * once it has read the StartupMessage (ByteToMessageDecoder hands each decoded packet on before
 * decoding the next, so the switch applies to the very next byte). A backend connection is
 * TAGGED from the start. Bodies are retained slices of the read buffer: no copy (with the frame's
 * header just before the reader index; see {@link FrameEncoder}). A {@link Sink} may take runs
 * of data messages as plain byte ranges instead (see {@link Sink#dataRun}), and a large data
 * message as its bytes come, without waiting for all of it. The decoder
 * never writes: a length that breaks the caps becomes a {@link ProtocolViolation} message for
 * the next handler to answer.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    /** PostgreSQL's own cap on a startup packet (MAX_STARTUP_PACKET_LENGTH). */
    public static final int MAX_STARTUP_PACKET = 10_000;
    /**
     * Cap for messages from the backend. Not limits.max_message_size: that limit protects pwgate
     * from clients, while the backend is trusted and a single DataRow may legitimately carry a
     * field of up to 1 GiB (PostgreSQL's own limit on a value).
     */
    public static final long BACKEND_MAX_MESSAGE = (1L << 30) + 1024 * 1024;

    /**
     * Cap for a client's messages until it has authenticated: a PasswordMessage, or anything it
     * pipelines behind one. PostgreSQL allows authentication packets up to 64 KiB as well; without
     * this cap a client that never logs in could make pwgate buffer limits.max_message_size.
     */
    public static final long MAX_UNAUTHENTICATED_MESSAGE = 65_536;

    /** Frames at least this big grow their buffer geometrically (see {@link #cumulate}). */
    static final int LARGE_FRAME = 1 << 20;

    /**
     * A data message at least this long (wire bytes) that is not whole in the buffer goes to a
     * sink that takes data runs as its bytes come, instead of being gathered first: a 100 MB row
     * or CopyData costs the session its read buffers, not 100 MB, and is not copied on the way.
     */
    public static final int STREAMED_DATA = 64 * 1024;

    private enum Mode { STARTUP, TAGGED, FAILED }

    private Mode mode;
    /** From a backend, 'D' is DataRow, a data message; from a client it is Describe. */
    private final boolean fromBackend;
    private final long configuredMaxMessageSize;
    private long maxMessageSize;
    /** Wire size of the large frame whose head is at the start of the cumulation, 0 when none. */
    private int pendingLargeFrame;
    /** Where tagged frames go once a session relay has taken the channel over; null: down the pipeline. */
    private Sink sink;
    /** Bytes of a streamed data message still to come (see {@link #STREAMED_DATA}); 0 when none. */
    private long streamLeft;

    /**
     * Takes a relayed session's frames straight from the decoder, without a pipeline event per
     * frame. Each call gets the frame (a retained slice, as always) and where its bytes lie in
     * the buffer it was cut from, header included, so that a frame passed on unchanged can be
     * written as part of one slice of that buffer with the frames next to it.
     */
    public interface Sink {
        void frame(Frame frame, ByteBuf source, int sourceIndex);

        /**
         * Whether the next data messages may come as one {@link #dataRun} instead of a Frame each.
         * Asked once per run; a sink says yes only while it passes them on unchanged without
         * looking at them.
         */
        default boolean takesDataRuns() {
            return false;
        }

        /**
         * {@code source[index, index + length)} holds whole data messages, headers included, one
         * after the other: CopyData ('d'), and from a backend also DataRow ('D'). Or it holds a
         * piece of one data message of {@link #STREAMED_DATA} bytes or more, streamed: its first
         * piece begins with its header, and the calls that follow carry the rest of it, whatever
         * {@link #takesDataRuns} would say by then. The sink gets no reference to {@code source};
         * it retains it to keep the bytes.
         */
        default void dataRun(ByteBuf source, int index, int length) {
            throw new UnsupportedOperationException("this sink takes no data runs");
        }
    }

    private FrameDecoder(Mode mode, boolean fromBackend, long maxMessageSize, long initialMaxMessageSize) {
        this.mode = mode;
        this.fromBackend = fromBackend;
        this.configuredMaxMessageSize = maxMessageSize;
        this.maxMessageSize = initialMaxMessageSize;
        setCumulator(this::cumulate);
    }

    /**
     * Joins what is left of the last read (the head of a message cut by the read's end) with the
     * next read, into a new buffer of exactly their size. Netty's merge cumulator instead appends
     * to the old buffer whenever nothing else holds it, bytes already handed on included, so in a
     * stream of small messages that are always cut somewhere (COPY OUT's CopyData) the buffer kept
     * growing, to unpooled megabytes that were zeroed and copied at each step.
     *
     * <p>Once the header of a large frame has been seen, the buffer at least doubles at each step
     * instead, up to the frame's size: a 100 MB DataRow is not copied once per read. It never
     * reserves more than twice what has actually arrived, so a header that announces a big message
     * costs nothing until its bytes come.
     */
    private ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (!cumulation.isReadable() && in.isContiguous()) {
            cumulation.release();
            return in;
        }
        int left = cumulation.readableBytes();
        long received = (long) left + in.readableBytes();
        if (pendingLargeFrame != 0 && cumulation.refCnt() == 1 && !cumulation.isReadOnly()
                && cumulation.writableBytes() >= in.readableBytes()) {
            // Room reserved by an earlier doubling: fill it.
            cumulation.writeBytes(in);
            in.release();
            return cumulation;
        }
        int size = (int) Math.min(Integer.MAX_VALUE, pendingLargeFrame == 0 ? received
                : Math.max(received, Math.min(pendingLargeFrame, 2 * received)));
        ByteBuf whole;
        try {
            whole = alloc.buffer(size);
        } catch (OutOfMemoryError e) {
            // No room (direct memory has a limit, and large messages of many sessions may meet
            // it): the read buffer is let go, the cumulation stays the decoder's, released with it.
            in.release();
            throw e;
        }
        try {
            whole.writeBytes(cumulation, cumulation.readerIndex(), left).writeBytes(in);
        } catch (RuntimeException e) {
            whole.release();
            throw e;
        } finally {
            cumulation.release();
            in.release();
        }
        return whole;
    }

    /** For a client connection: startup packets first, then tagged messages of at most {@code maxMessageSize} body bytes. */
    public static FrameDecoder forClient(long maxMessageSize) {
        return new FrameDecoder(Mode.STARTUP, false, maxMessageSize, Math.min(maxMessageSize, MAX_UNAUTHENTICATED_MESSAGE));
    }

    /** For a connection to the backend: tagged messages from the first byte. */
    public static FrameDecoder forBackend() {
        return new FrameDecoder(Mode.TAGGED, true, BACKEND_MAX_MESSAGE, BACKEND_MAX_MESSAGE);
    }

    /**
     * Whether a streamed data message has been handed on in part, with the rest still to come: a
     * peer that got its first bytes must not be sent anything else until it is whole.
     */
    public boolean midMessage() {
        return streamLeft != 0;
    }

    /** The client has proved who it is: from now on its messages may be as big as configured. */
    public void authenticated() {
        maxMessageSize = configuredMaxMessageSize;
    }

    /**
     * From the next frame on, tagged frames go to {@code sink} instead of down the pipeline;
     * ProtocolViolation still goes down the pipeline, after the frames before it. Call on the
     * channel's event loop.
     */
    public void deliverTo(Sink sink) {
        this.sink = sink;
    }

    /**
     * Once a sink takes the frames, whoever owns the sink decides when the channel reads (autoRead).
     * ByteToMessageDecoder would instead ask for another read after every read that put nothing
     * into the pipeline while autoRead is off, which is every read here: a pause set while the
     * frames of a read were handed on would be undone at once.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (sink == null) {
            super.channelReadComplete(ctx);
            return;
        }
        discardSomeReadBytes();
        ctx.fireChannelReadComplete();
    }

    /** The startup phase is over: from the next byte on, messages are tagged. */
    public void expectTagged() {
        if (mode == Mode.STARTUP) {
            mode = Mode.TAGGED;
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (mode) {
            case STARTUP -> decodeStartup(in, out);
            case TAGGED -> decodeTagged(in, out);
            case FAILED -> in.skipBytes(in.readableBytes());
        }
    }

    private void decodeStartup(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 8 || length > MAX_STARTUP_PACKET) {
            fail(in, out, "invalid length of startup packet");
            return;
        }
        if (in.readableBytes() < length) {
            return;
        }
        in.skipBytes(4);
        out.add(new StartupPacket(in.readRetainedSlice(length - 4)));
    }

    private void decodeTagged(ByteBuf in, List<Object> out) {
        if (streamLeft != 0) {
            int piece = (int) Math.min(streamLeft, in.readableBytes());
            int from = in.readerIndex();
            in.skipBytes(piece);
            streamLeft -= piece;
            sink.dataRun(in, from, piece);
            return;
        }
        if (in.readableBytes() < 5) {
            return;
        }
        int start = in.readerIndex();
        byte tag = in.getByte(start);
        int length = in.getInt(start + 1);
        if (length < 4) {
            fail(in, out, "invalid message length");
            return;
        }
        if (length - 4L > maxMessageSize) {
            fail(in, out, "message of " + (length - 4L) + " bytes exceeds the limit of " + maxMessageSize + " bytes");
            return;
        }
        if (in.readableBytes() < 1 + length) {
            if (1L + length >= STREAMED_DATA && sink != null && isData(tag) && sink.takesDataRuns()) {
                int piece = in.readableBytes();
                streamLeft = 1L + length - piece;
                pendingLargeFrame = 0;
                in.skipBytes(piece);
                sink.dataRun(in, start, piece);
                return;
            }
            pendingLargeFrame = length >= LARGE_FRAME ? 1 + length : 0;
            return;
        }
        pendingLargeFrame = 0;
        if (sink != null && isData(tag) && sink.takesDataRuns()) {
            // The bulk of COPY and of large results: no Frame, slice or reference count per
            // message, only its header is read. The run ends before the first message that is
            // not data, not whole in this buffer, or breaks a cap; the next call cuts that one.
            int end = runEnd(in, start + 1 + length, in.writerIndex());
            in.readerIndex(end);
            sink.dataRun(in, start, end - start);
            return;
        }
        // The body is a retained slice of the whole message whose reader index skips the 5-byte
        // header: the header stays in front of it, so FrameEncoder can pass an untouched frame on
        // as the bytes that came in, without a copy or a buffer of its own.
        // slice().retain(), not retainedSlice(): a plain slice is a small new object, while a
        // retained slice comes from Netty's object recycler, which cost more per message.
        ByteBuf wire = in.readSlice(1 + length).retain();
        Frame frame = new Frame(tag, wire.readerIndex(5));
        if (sink != null) {
            sink.frame(frame, in, start);
        } else {
            out.add(frame);
        }
    }

    private boolean isData(byte tag) {
        return isDataMessage(tag, fromBackend);
    }

    /**
     * Whether {@code tag} is a data message: CopyData from either side, DataRow from a backend
     * (from a client, 'D' is Describe). These are the messages a {@link Sink} may take as runs.
     */
    public static boolean isDataMessage(byte tag, boolean fromBackend) {
        return tag == Tag.COPY_DATA || (fromBackend && tag == Tag.DATA_ROW);
    }

    /** Where the run of whole, valid data messages from {@code from} ends, at most {@code limit}. */
    private int runEnd(ByteBuf in, int from, int limit) {
        int end = from;
        while (limit - end >= 5) {
            if (!isData(in.getByte(end))) {
                break;
            }
            int length = in.getInt(end + 1);
            if (length < 4 || length - 4L > maxMessageSize || limit - end - 1 < length) {
                break;
            }
            end += 1 + length;
        }
        return end;
    }

    private void fail(ByteBuf in, List<Object> out, String message) {
        mode = Mode.FAILED;
        in.skipBytes(in.readableBytes());
        out.add(new ProtocolViolation(message));
    }
}
