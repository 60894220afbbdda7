package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes a {@link Frame} back to the wire: tag, length word, body. Small bodies are copied next
 * to their header (one buffer per message keeps small-query traffic cheap); large ones are
 * written as they are, after a 5-byte header, so a 100 MB DataRow is never copied. Plain
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
        ByteBuf body = frame.body();
        int size = body.readableBytes();
        if (size <= COPY_THRESHOLD) {
            ByteBuf buf = ctx.alloc().ioBuffer(5 + size);
            try {
                buf.writeByte(frame.tag()).writeInt(4 + size).writeBytes(body, body.readerIndex(), size);
            } finally {
                body.release();
            }
            out.add(buf);
        } else {
            ByteBuf header = ctx.alloc().ioBuffer(5);
            header.writeByte(frame.tag()).writeInt(4 + size);
            out.add(header);
            out.add(body);
        }
    }
}
