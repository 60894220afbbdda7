package org.pwgate.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.pwgate.proxy.protocol.FrameDecoderTest.QUERY;
import static org.pwgate.proxy.protocol.FrameDecoderTest.SYNC;
import static org.pwgate.proxy.protocol.FrameDecoderTest.bytes;
import static org.pwgate.proxy.protocol.FrameDecoderTest.concat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameEncoderTest {

    @Test
    void passesDecodedFramesOnAsTheBytesThatCameInWithoutACopy() {
        EmbeddedChannel in = new EmbeddedChannel(FrameDecoder.forBackend());
        in.writeInbound(Unpooled.directBuffer().writeBytes(concat(QUERY, SYNC)));
        Frame q = in.readInbound();
        Frame s = in.readInbound();
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(q, s);
        ByteBuf wq = out.readOutbound();
        ByteBuf ws = out.readOutbound();
        assertSame(q.body(), wq, "the frame's own buffer goes out");
        assertSame(s.body(), ws);
        assertArrayEquals(QUERY, ByteBufUtil.getBytes(wq));
        assertArrayEquals(SYNC, ByteBufUtil.getBytes(ws));
        wq.release();
        ws.release();
        assertNull(out.readOutbound());
        in.finishAndReleaseAll();
        out.finishAndReleaseAll();
    }

    @Test
    void writesAHeaderForABodyMadeElsewhere() {
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(new Frame((byte) 'Q', Unpooled.copiedBuffer(bytes('S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0))));
        assertArrayEquals(QUERY, drain(out));
        out.finishAndReleaseAll();
    }

    @Test
    void bytesBeforeTheReaderIndexThatAreNotThisHeaderAreNotSent() {
        // A body read past its first five bytes (say, a decoded field), or a rewritten frame whose
        // tag or length differs from what precedes it: only the readable bytes count.
        ByteBuf shifted = Unpooled.copiedBuffer(concat(bytes('X', 0, 0, 0, 13), bytes('S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0)));
        shifted.readerIndex(5);
        ByteBuf wrongLength = Unpooled.copiedBuffer(concat(bytes('Q', 0, 0, 0, 99), bytes('S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0)));
        wrongLength.readerIndex(5);
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(new Frame((byte) 'Q', shifted), new Frame((byte) 'Q', wrongLength));
        assertArrayEquals(concat(QUERY, QUERY), drain(out));
        out.finishAndReleaseAll();
    }

    @Test
    void writesLargeBodiesAfterAHeaderWithoutCopyingThem() {
        byte[] body = new byte[FrameEncoder.COPY_THRESHOLD + 1];
        ByteBuf b = Unpooled.wrappedBuffer(body);
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(new Frame((byte) 'd', b));
        ByteBuf header = out.readOutbound();
        assertArrayEquals(bytes('d', 0, 0, 4, 5), ByteBufUtil.getBytes(header));
        assertSame(b, out.readOutbound());
        header.release();
        b.release();
        out.finishAndReleaseAll();
    }

    private static byte[] drain(EmbeddedChannel ch) {
        List<byte[]> parts = new ArrayList<>();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            parts.add(ByteBufUtil.getBytes(b));
            b.release();
        }
        return concat(parts.toArray(new byte[0][]));
    }

    @Test
    void lengthOfAnEmptyBodyIsFour() {
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        out.writeOutbound(new Frame((byte) 'S', Unpooled.buffer(0)));
        assertEquals(5, drain(out).length);
        out.finishAndReleaseAll();
    }
}
