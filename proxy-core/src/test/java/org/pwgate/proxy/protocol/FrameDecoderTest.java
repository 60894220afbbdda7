package org.pwgate.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.RecordingAllocator;

class FrameDecoderTest {

    /** 'Q', length 13, "SELECT 1\0" */
    static final byte[] QUERY = bytes('Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', 0);
    /** Sync: 'S', length 4, no body */
    static final byte[] SYNC = bytes('S', 0, 0, 0, 4);

    @Test
    void cutsTaggedFramesWithoutCopyingTheirBodies() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend());
        ch.writeInbound(Unpooled.wrappedBuffer(concat(QUERY, SYNC)));
        Frame q = ch.readInbound();
        Frame s = ch.readInbound();
        assertEquals('Q', q.tag());
        assertEquals("SELECT 1\0", q.body().toString(StandardCharsets.US_ASCII));
        assertEquals(QUERY.length, q.wireLength());
        assertEquals('S', s.tag());
        assertEquals(0, s.body().readableBytes());
        q.release();
        s.release();
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }

    @Test
    void aSinkGetsEachFrameWithWhereItsBytesLieAndViolationsStillGoDownThePipeline() {
        FrameDecoder decoder = FrameDecoder.forBackend();
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        List<String> seen = new ArrayList<>();
        decoder.deliverTo((frame, source, index) -> {
            // The frame's wire bytes, header included, are source[index, index + wireLength).
            byte[] wire = new byte[frame.wireLength()];
            source.getBytes(index, wire);
            byte[] own = new byte[frame.wireLength()];
            frame.body().getBytes(frame.body().readerIndex() - 5, own);
            assertTrue(Arrays.equals(wire, own));
            seen.add((char) frame.tag() + "@" + index);
            frame.release();
        });
        // A cut Query: its head in one read, its tail and a Sync in the next, then a bad length.
        byte[] all = concat(SYNC, QUERY, SYNC);
        ch.writeInbound(Unpooled.wrappedBuffer(all, 0, 8));
        ch.writeInbound(Unpooled.wrappedBuffer(all, 8, all.length - 8));
        assertEquals(List.of("S@0", "Q@0", "S@14"), seen);
        assertNull(ch.readInbound(), "frames went to the sink, not down the pipeline");
        ch.writeInbound(Unpooled.wrappedBuffer(bytes('Q', 0, 0, 0, 2)));
        assertInstanceOf(ProtocolViolation.class, ch.readInbound());
        assertEquals(3, seen.size());
        ch.finishAndReleaseAll();
    }

    /** Records what a sink gets: "X@i" for a frame, "run@i+n" for a data run, checking each against the wire. */
    private static final class RecordingSink implements FrameDecoder.Sink {
        final List<String> seen = new ArrayList<>();
        final ByteArrayOutputStream passed = new ByteArrayOutputStream();
        boolean takesRuns = true;

        @Override
        public void frame(Frame frame, ByteBuf source, int index) {
            seen.add((char) frame.tag() + "@" + index);
            byte[] own = new byte[frame.wireLength()];
            frame.body().getBytes(frame.body().readerIndex() - 5, own);
            passed.writeBytes(own);
            frame.release();
        }

        @Override
        public boolean takesDataRuns() {
            return takesRuns;
        }

        @Override
        public void dataRun(ByteBuf source, int index, int length) {
            seen.add("run@" + index + "+" + length);
            byte[] run = new byte[length];
            source.getBytes(index, run);
            passed.writeBytes(run);
        }
    }

    /** A channel whose decoder, in tagged mode, delivers to {@code sink}. */
    private static EmbeddedChannel delivering(FrameDecoder decoder, RecordingSink sink) {
        decoder.expectTagged();
        decoder.deliverTo(sink);
        return new EmbeddedChannel(decoder);
    }

    /** A message of {@code tag} with a body of {@code bodyLength} bytes. */
    static byte[] message(char tag, int bodyLength) {
        byte[] m = new byte[5 + bodyLength];
        m[0] = (byte) tag;
        Unpooled.wrappedBuffer(m).setInt(1, 4 + bodyLength);
        for (int i = 0; i < bodyLength; i++) {
            m[5 + i] = (byte) (tag + i);
        }
        return m;
    }

    @Test
    void aSinkThatTakesRunsGetsEachRunOfDataRowsAndCopyDataOnceAndEverythingElseAsFrames() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forBackend(), sink);
        byte[] t = message('T', 20);
        byte[] d = message('D', 11);
        byte[] c = message('C', 9);
        byte[] copy = message('d', 3);
        byte[] z = message('Z', 1);
        byte[] all = concat(t, d, d, copy, d, c, d, z);
        ch.writeInbound(Unpooled.wrappedBuffer(all));
        int afterT = t.length;
        int atC = afterT + 3 * d.length + copy.length;
        assertEquals(List.of("T@0", "run@" + afterT + "+" + (3 * d.length + copy.length),
                "C@" + atC, "run@" + (atC + c.length) + "+" + d.length, "Z@" + (all.length - z.length)), sink.seen);
        assertTrue(Arrays.equals(all, sink.passed.toByteArray()), "every byte passed once, in order");
        ch.finishAndReleaseAll();
    }

    @Test
    void fromAClientOnlyCopyDataIsDataForItsDIsDescribe() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forClient(1024), sink);
        byte[] copy = message('d', 7);
        byte[] describe = message('D', 2);
        ch.writeInbound(Unpooled.wrappedBuffer(concat(copy, copy, describe, copy)));
        assertEquals(List.of("run@0+" + 2 * copy.length, "D@" + 2 * copy.length,
                "run@" + (2 * copy.length + describe.length) + "+" + copy.length), sink.seen);
        ch.finishAndReleaseAll();
    }

    @Test
    void aRunEndsAtAMessageCutByTheReadAndTheNextReadCompletesIt() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forBackend(), sink);
        byte[] d = message('D', 30);
        byte[] all = concat(d, d, d, d);
        int cut = 2 * d.length + 10; // inside the third message's body
        ch.writeInbound(Unpooled.wrappedBuffer(all, 0, cut));
        assertEquals(List.of("run@0+" + 2 * d.length), sink.seen);
        ch.writeInbound(Unpooled.wrappedBuffer(all, cut, 3)); // the header still cut
        assertEquals(1, sink.seen.size());
        ch.writeInbound(Unpooled.wrappedBuffer(all, cut + 3, all.length - cut - 3));
        assertEquals("run@0+" + 2 * d.length, sink.seen.get(1), "the joined rest, as one run");
        assertTrue(Arrays.equals(all, sink.passed.toByteArray()));
        ch.finishAndReleaseAll();
    }

    @Test
    void aRunEndsBeforeABrokenMessageWhichStillBecomesAViolation() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forClient(16), sink);
        byte[] copy = message('d', 16);
        ch.writeInbound(Unpooled.wrappedBuffer(concat(copy, copy, message('d', 17), copy)));
        assertEquals(List.of("run@0+" + 2 * copy.length), sink.seen);
        ProtocolViolation v = ch.readInbound();
        assertTrue(v.message().contains("exceeds the limit of 16 bytes"), v.message());
        ch.writeInbound(Unpooled.wrappedBuffer(copy));
        assertEquals(1, sink.seen.size(), "nothing after the violation");

        RecordingSink second = new RecordingSink();
        EmbeddedChannel tagged = delivering(FrameDecoder.forBackend(), second);
        byte[] d = message('D', 4);
        tagged.writeInbound(Unpooled.wrappedBuffer(concat(d, bytes('D', 0, 0, 0, 3, 'x'), d)));
        assertEquals(List.of("run@0+" + d.length), second.seen);
        assertEquals("invalid message length", ((ProtocolViolation) tagged.readInbound()).message());
        ch.finishAndReleaseAll();
        tagged.finishAndReleaseAll();
    }

    @Test
    void aSinkIsAskedBeforeEachRunAndGetsFramesWhileItSaysNo() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forBackend(), sink);
        byte[] d = message('D', 5);
        byte[] c = message('C', 6);
        sink.takesRuns = false;
        ch.writeInbound(Unpooled.wrappedBuffer(concat(d, d, c)));
        assertEquals(List.of("D@0", "D@" + d.length, "C@" + 2 * d.length), sink.seen);
        sink.takesRuns = true;
        ch.writeInbound(Unpooled.wrappedBuffer(concat(d, d, c)));
        assertEquals(List.of("run@0+" + 2 * d.length, "C@" + 2 * d.length), sink.seen.subList(3, 5));
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeDataMessageCutByTheReadGoesOnAsItsBytesComeAndWhatFollowsItIsCutAsUsual() {
        RecordingSink sink = new RecordingSink();
        FrameDecoder decoder = FrameDecoder.forBackend();
        EmbeddedChannel ch = delivering(decoder, sink);
        byte[] d = message('D', 11);
        byte[] big = message('D', FrameDecoder.STREAMED_DATA);
        byte[] c = message('C', 9);
        byte[] all = concat(d, big, c, d);
        int first = d.length + 1000; // the small row and the big one's head
        int second = first + 30_000;
        ch.writeInbound(Unpooled.wrappedBuffer(all, 0, first));
        assertEquals(List.of("run@0+" + d.length, "run@" + d.length + "+1000"), sink.seen);
        assertTrue(decoder.midMessage());
        ch.writeInbound(Unpooled.wrappedBuffer(all, first, second - first));
        assertEquals("run@0+30000", sink.seen.get(2), "the next piece, from the next read, as it came");
        sink.takesRuns = false; // asked no more until the message is whole
        ch.writeInbound(Unpooled.wrappedBuffer(all, second, all.length - second));
        int rest = d.length + big.length - second;
        assertEquals(List.of("run@0+" + rest, "C@" + rest, "D@" + (rest + c.length)), sink.seen.subList(3, 6));
        assertTrue(!decoder.midMessage());
        assertTrue(Arrays.equals(all, sink.passed.toByteArray()), "every byte passed once, in order");
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeMessageIsGatheredWholeWhenItIsNotDataOrTheSinkTakesNoRuns() {
        byte[] notice = message('N', FrameDecoder.STREAMED_DATA);
        byte[] big = message('D', FrameDecoder.STREAMED_DATA);
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forBackend(), sink);
        byte[] all = concat(notice, big);
        ch.writeInbound(Unpooled.wrappedBuffer(all, 0, 40_000));
        sink.takesRuns = false;
        ch.writeInbound(Unpooled.wrappedBuffer(all, 40_000, notice.length + 100 - 40_000));
        ch.writeInbound(Unpooled.wrappedBuffer(all, notice.length + 100, big.length - 100));
        assertEquals(List.of("N@0", "D@0"), sink.seen);
        assertTrue(Arrays.equals(all, sink.passed.toByteArray()));
        ch.finishAndReleaseAll();
    }

    @Test
    void aDataMessageBelowTheStreamingSizeIsStillGatheredWhole() {
        RecordingSink sink = new RecordingSink();
        EmbeddedChannel ch = delivering(FrameDecoder.forClient(1 << 20), sink);
        byte[] copy = message('d', FrameDecoder.STREAMED_DATA - 6);
        ch.writeInbound(Unpooled.wrappedBuffer(copy, 0, 1000));
        assertEquals(List.of(), sink.seen);
        ch.writeInbound(Unpooled.wrappedBuffer(copy, 1000, copy.length - 1000));
        assertEquals(List.of("run@0+" + copy.length), sink.seen);
        ch.finishAndReleaseAll();
    }

    @Test
    void reassemblesFramesFedOneByteAtATime() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend());
        byte[] all = concat(QUERY, SYNC, QUERY);
        for (byte b : all) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        int n = 0;
        Frame f;
        while ((f = ch.readInbound()) != null) {
            assertEquals(n == 1 ? 'S' : 'Q', f.tag());
            f.release();
            n++;
        }
        assertEquals(3, n);
        ch.finishAndReleaseAll();
    }

    @Test
    void startupModeEmitsOnePacketThenTaggedModeAfterTheSwitch() {
        FrameDecoder decoder = FrameDecoder.forClient(1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        // SSLRequest: length 8, code 80877103
        ch.writeInbound(Unpooled.wrappedBuffer(bytes(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f)));
        StartupPacket p = ch.readInbound();
        assertEquals(80877103, p.body().getInt(0));
        p.release();
        decoder.expectTagged();
        ch.writeInbound(Unpooled.wrappedBuffer(SYNC));
        Frame s = ch.readInbound();
        assertEquals('S', s.tag());
        s.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void oversizedStartupPacketIsAViolation() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forClient(1024));
        ch.writeInbound(Unpooled.wrappedBuffer(bytes(0, 0, 0x27, 0x11, 0, 3, 0, 0))); // 10001 bytes
        ProtocolViolation v = ch.readInbound();
        assertEquals("invalid length of startup packet", v.message());
        ch.finishAndReleaseAll();
    }

    @Test
    void tooShortLengthsAreViolations() {
        EmbeddedChannel startup = new EmbeddedChannel(FrameDecoder.forClient(1024));
        startup.writeInbound(Unpooled.wrappedBuffer(bytes(0, 0, 0, 4)));
        assertInstanceOf(ProtocolViolation.class, startup.readInbound());
        startup.finishAndReleaseAll();

        EmbeddedChannel tagged = new EmbeddedChannel(FrameDecoder.forBackend());
        tagged.writeInbound(Unpooled.wrappedBuffer(bytes('Z', 0, 0, 0, 3, 'I')));
        assertEquals("invalid message length", ((ProtocolViolation) tagged.readInbound()).message());
        tagged.finishAndReleaseAll();
    }

    @Test
    void messageOverTheClientLimitIsAViolationAndTheRestIsIgnored() {
        FrameDecoder decoder = FrameDecoder.forClient(8);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        decoder.expectTagged();
        ch.writeInbound(Unpooled.wrappedBuffer(concat(QUERY, SYNC))); // body of 9 > 8
        ProtocolViolation v = ch.readInbound();
        assertTrue(v.message().contains("exceeds the limit of 8 bytes"), v.message());
        ch.writeInbound(Unpooled.wrappedBuffer(SYNC));
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }

    @Test
    void beforeAuthenticationClientMessagesAreCappedAt64KiB() {
        FrameDecoder decoder = FrameDecoder.forClient(64L * 1024 * 1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        decoder.expectTagged();
        ch.writeInbound(Unpooled.buffer(5).writeByte('p').writeInt(200 * 1024 * 1024 + 4));
        ProtocolViolation v = ch.readInbound();
        assertTrue(v.message().contains("exceeds the limit of 65536 bytes"), v.message());
        ch.finishAndReleaseAll();
    }

    @Test
    void afterAuthenticationTheConfiguredLimitApplies() {
        FrameDecoder decoder = FrameDecoder.forClient(64L * 1024 * 1024);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        decoder.expectTagged();
        decoder.authenticated();
        ch.writeInbound(Unpooled.buffer(5).writeByte('B').writeInt(1024 * 1024 + 4));
        assertNull(ch.readInbound(), "waits for the body instead of refusing it");
        ch.finishAndReleaseAll();
    }

    /** A backend-side decoder whose buffers come from {@code alloc}. */
    private static EmbeddedChannel backendChannel(RecordingAllocator alloc) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(FrameDecoder.forBackend());
        return ch;
    }

    @Test
    void noMemoryForALargeFrameLeavesNoBufferBehind() {
        EmbeddedChannel ch = backendChannel(RecordingAllocator.failingAbove(1 << 20));
        int first = 5 + 512 * 1024;
        ByteBuf head = Unpooled.buffer(first, first).writeByte('D').writeInt(4 + (4 << 20)).writeZero(512 * 1024);
        ch.writeInbound(head); // the start of a 4 MiB DataRow: the decoder keeps it
        assertNull(ch.readInbound());
        ByteBuf more = Unpooled.wrappedBuffer(new byte[1 << 20]).retain(); // one reference for the decoder
        assertThrows(OutOfMemoryError.class, () -> ch.writeInbound(more));
        assertEquals(1, more.refCnt(), "the decoder let go of the read it could not join");
        more.release();
        assertEquals(1, head.refCnt(), "the decoder still holds what it had");
        ch.finishAndReleaseAll();
        assertEquals(0, head.refCnt(), "and lets go of it with the channel");
    }

    @Test
    void anAnnouncedSizeIsNotReservedBeforeItsBytesArrive() {
        RecordingAllocator alloc = new RecordingAllocator();
        EmbeddedChannel ch = backendChannel(alloc);
        int size = 512 * 1024 * 1024;
        ch.writeInbound(Unpooled.buffer(5).writeByte('D').writeInt(size + 4));
        for (int i = 0; i < 4; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[256 * 1024]));
        }
        assertNull(ch.readInbound());
        assertTrue(alloc.largest() <= 2 * (4 * 256 * 1024 + 5), "reserved " + alloc.largest() + " bytes for 1 MiB received");
        ch.finishAndReleaseAll();
    }

    @Test
    void aStreamOfCutMessagesNeverGrowsTheBuffer() {
        // COPY OUT: 100-byte CopyData messages, read in 4 KiB pieces that cut one of them each time.
        RecordingAllocator alloc = new RecordingAllocator();
        EmbeddedChannel ch = backendChannel(alloc);
        int frames = 5_000;
        ByteBuf wire = Unpooled.buffer();
        for (int i = 0; i < frames; i++) {
            wire.writeByte('d').writeInt(4 + 95);
            for (int j = 0; j < 95; j++) {
                wire.writeByte((byte) (i + j));
            }
        }
        int seen = 0;
        while (wire.isReadable()) {
            ch.writeInbound(wire.readRetainedSlice(Math.min(4096, wire.readableBytes())));
            Frame f;
            while ((f = ch.readInbound()) != null) {
                assertEquals('d', f.tag());
                assertEquals(95, f.body().readableBytes());
                assertEquals((byte) (seen + 94), f.body().getByte(f.body().readerIndex() + 94));
                f.release(); // handed on: nothing but the decoder holds the read buffer
                seen++;
            }
        }
        wire.release();
        assertEquals(frames, seen);
        assertTrue(alloc.largest() <= 4096 + 100, "allocated " + alloc.largest() + " bytes for 4 KiB reads");
        ch.finishAndReleaseAll();
    }

    @Test
    void backendFramesAreNotCappedByTheClientLimit() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend());
        int size = 200 * 1024 * 1024; // larger than the default client limit of 64 MiB
        ByteBuf header = Unpooled.buffer(5).writeByte('D').writeInt(size + 4);
        ch.writeInbound(header);
        assertNull(ch.readInbound(), "waits for the body instead of refusing it");
        ch.finishAndReleaseAll();
    }

    @Test
    void aLargeFrameArrivingInPiecesComesOutWhole() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend());
        int size = 3 * FrameDecoder.LARGE_FRAME + 17;
        byte[] body = new byte[size];
        for (int i = 0; i < size; i++) {
            body[i] = (byte) (i * 31);
        }
        ByteBuf wire = Unpooled.buffer().writeByte('D').writeInt(size + 4).writeBytes(body).writeBytes(SYNC);
        while (wire.isReadable()) {
            ch.writeInbound(wire.readRetainedSlice(Math.min(65_000, wire.readableBytes())));
        }
        wire.release();
        Frame d = ch.readInbound();
        assertEquals('D', d.tag());
        assertEquals(Arrays.hashCode(body), Arrays.hashCode(io.netty.buffer.ByteBufUtil.getBytes(d.body())));
        d.release();
        Frame s = ch.readInbound();
        assertEquals('S', s.tag());
        s.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void unknownTagsAreCarried() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend());
        ch.writeInbound(Unpooled.wrappedBuffer(bytes('~', 0, 0, 0, 6, 1, 2)));
        Frame f = ch.readInbound();
        assertEquals('~', f.tag());
        assertEquals(2, f.body().readableBytes());
        f.release();
        ch.finishAndReleaseAll();
    }

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] r = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, r, at, p.length);
            at += p.length;
        }
        return r;
    }
}
