package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;
import java.util.function.Consumer;

/**
 * Writes a {@link Frame} back to the wire: tag, length word, body. A frame that is passed on as it
 * came in still has its header in front of its body (FrameDecoder slices it so): then the buffer
 * itself goes out, from the header on, with no copy and no buffer of its own. Other small bodies
 * are copied next to their header (one buffer per message keeps small-query traffic cheap); large
 * ones are written as they are, after a 5-byte header, so a 100 MB DataRow is never copied. Plain
 * ByteBufs pass through untouched. Stateless, hence shared.
 */
@Sharable
public final class FrameEncoder extends MessageToMessageEncoder<Frame> {
    static final int COPY_THRESHOLD = 1024;

    public FrameEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        encode(frame, ctx.alloc(), out::add);
    }

    /** Hands {@code frame}'s wire form to {@code out}, as one buffer or two (header, large body); takes the frame over. */
    public static void encode(Frame frame, ByteBufAllocator alloc, Consumer<ByteBuf> out) {
        ByteBuf body = frame.body();
        int size = body.readableBytes();
        if (hasOwnHeader(frame.tag(), body, size)) {
            // The five bytes before the body are exactly the header we would write: send them too.
            out.accept(body.readerIndex(body.readerIndex() - 5));
        } else if (size <= COPY_THRESHOLD) {
            ByteBuf buf = alloc.ioBuffer(5 + size);
            try {
                buf.writeByte(frame.tag()).writeInt(4 + size).writeBytes(body, body.readerIndex(), size);
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            } finally {
                body.release();
            }
            out.accept(buf);
        } else {
            ByteBuf header = alloc.ioBuffer(5);
            header.writeByte(frame.tag()).writeInt(4 + size);
            out.accept(header);
            out.accept(body);
        }
    }

    /**
     * True when {@code body[readerIndex-5, readerIndex)} holds this frame's tag and length word.
     * Whatever produced the body, writing from there is then byte for byte what the copy would be.
     */
    public static boolean hasOwnHeader(byte tag, ByteBuf body, int size) {
        int r = body.readerIndex();
        return r >= 5 && body.getByte(r - 5) == tag && body.getInt(r - 4) == 4 + size;
    }
}
