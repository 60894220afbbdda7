package org.pwgate.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.cancel.Cancel;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.backend.BackendSessions;
import org.pwgate.proxy.gate.SessionGate;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.pwgate.proxy.metrics.QueryTracker;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.session.SessionState;

/**
 * The relay's side of {@link SessionGate#prepare}: while the gate prepares a client frame off the
 * loop, nothing the client sent after it reaches the backend, the client is not read, the session
 * counts as busy, and every frame is released whatever happens meanwhile. Both channels are
 * EmbeddedChannels driven from the test thread; the gate passes frames on unchanged and prepares
 * the Queries whose text starts with "slow", completing when the test says.
 */
class PreparedFramesTest {
    private final PwgateMetrics metrics = new PwgateMetrics();
    private final QueryTracker tracker = new QueryTracker(metrics);
    private final PreparingGate gate = new PreparingGate();
    private EmbeddedChannel client;
    private EmbeddedChannel backend;
    private SessionRelay relay;

    @BeforeEach
    void startRelay() {
        FrameDecoder clientDecoder = FrameDecoder.forClient(1 << 20);
        clientDecoder.expectTagged();
        client = new EmbeddedChannel(clientDecoder);
        backend = new EmbeddedChannel(FrameDecoder.forBackend());
        backend.pipeline().addLast(BackendConnector.LOGIN_HANDLER, new ChannelInboundHandlerAdapter());
        SessionState state = new SessionState(1, new InetSocketAddress("127.0.0.1", 1), "alice", "db");
        relay = new SessionRelay("c1", client, backend, state, gate, metrics, tracker, () -> { });
        relay.start(BackendSessions.loggedIn(backend), List.of());
    }

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
        backend.finishAndReleaseAll();
        metrics.close();
    }

    @Test
    void framesBehindOneInPreparationWaitThenFollowItInOrder() {
        client.writeInbound(wire(query("slow one"), query("two"), sync()));
        assertNull(backend.readOutbound(), "nothing reaches the backend while the first is prepared");
        assertFalse(client.config().isAutoRead(), "the client is not read meanwhile");
        assertFalse(tracker.isIdle(), "the session is busy: a drain must not end it as idle");

        gate.finish();
        assertEquals(List.of("Q slow one", "Q two", "S"), sentToBackend());
        assertTrue(client.config().isAutoRead(), "read again once nothing is held");
        assertTrue(gate.released(), "every frame released once written");
    }

    @Test
    void aSecondFrameToPrepareWaitsForTheFirstAndHoldsWhatFollowsIt() {
        client.writeInbound(wire(query("slow a"), query("b"), query("slow c"), query("d")));
        gate.finish();
        assertEquals(List.of("Q slow a", "Q b"), sentToBackend());
        assertFalse(client.config().isAutoRead(), "still held: the second one is being prepared");
        gate.finish();
        assertEquals(List.of("Q slow c", "Q d"), sentToBackend());
        assertTrue(client.config().isAutoRead());
    }

    @Test
    void copyDataBehindAFrameInPreparationDoesNotOvertakeIt() {
        // While the gate passes data unseen, the decoder hands CopyData over as byte runs, past the
        // gate: behind a frame in preparation, they must wait like any frame.
        client.writeInbound(wire(query("slow copy"), copyData("row 1"), copyData("row 2"), copyDone()));
        assertNull(backend.readOutbound());
        gate.finish();
        assertEquals(List.of("Q slow copy", "d row 1", "d row 2", "c"), sentToBackend());
    }

    @Test
    void aSessionThatEndsDuringPreparationReleasesTheHeldFramesAndLaterThePreparedOne() {
        ByteBuf read = wire(query("slow one"), query("two"));
        client.writeInbound(read);
        assertEquals(2, read.refCnt(), "the frame in preparation and the one held behind it, slices of the read buffer");
        client.close();
        flushTasks();
        assertEquals(1, read.refCnt(), "the held frame is released at the end; the prepared one is still being read");
        gate.finish();
        flushTasks();
        assertNull(backend.readOutbound(), "nothing goes on after the end");
        assertEquals(0, read.refCnt(), "the prepared frame is released once its preparation is over");
    }

    @Test
    void aCancelWhileTheAwaitedStatementIsHeldGoesToTheGateNotTheBackend() {
        List<String> forwarded = new ArrayList<>();
        client.writeInbound(wire(query("slow one"), query("two")));
        relay.cancelRequested(recorded(forwarded, "cancel"));
        flushTasks();
        assertEquals(List.of("held"), gate.cancels, "nothing in flight: the backend would drop the cancel");
        assertEquals(List.of(), forwarded, "the client's cancel connection stays open while the frame is held");
        gate.applies = true;
        gate.finish();
        assertEquals(List.of("Q slow one", "Q two"), sentToBackend());
        assertEquals(List.of("held", "settled"), gate.cancels);
        assertEquals(List.of("cancel settled"), forwarded,
                "applied in band: forwarding it could cancel the client's next statement");
    }

    @Test
    void aCancelTheGateDidNotApplyIsForwardedOnceTheHeldFramesHaveGoneOn() {
        List<String> forwarded = new ArrayList<>();
        client.writeInbound(wire(query("slow one")));
        relay.cancelRequested(recorded(forwarded, "cancel"));
        flushTasks();
        assertEquals(List.of(), forwarded);
        gate.finish();
        assertEquals(List.of("Q slow one"), sentToBackend());
        assertEquals(List.of("cancel forwarded"), forwarded);
    }

    @Test
    void aCancelHeldWhenTheSessionEndsIsSettled() {
        List<String> forwarded = new ArrayList<>();
        client.writeInbound(wire(query("slow one")));
        relay.cancelRequested(recorded(forwarded, "cancel"));
        flushTasks();
        client.close();
        flushTasks();
        assertEquals(List.of("cancel settled"), forwarded, "nothing left to cancel; the client's connection closes");
        gate.finish();
        flushTasks();
        assertEquals(List.of("cancel settled"), forwarded);
    }

    @Test
    void aCancelWithAnEarlierStatementInFlightOrNothingHeldIsForwardedAtOnce() {
        List<String> forwarded = new ArrayList<>();
        gate.owed = 1; // an earlier statement still running: the cancel is for it
        client.writeInbound(wire(query("slow one")));
        relay.cancelRequested(recorded(forwarded, "first"));
        flushTasks();
        assertEquals(List.of("first forwarded"), forwarded);
        gate.finish();
        sentToBackend();
        relay.cancelRequested(recorded(forwarded, "second")); // nothing held now
        flushTasks();
        assertEquals(List.of("first forwarded", "second forwarded"), forwarded);
        assertEquals(List.of(), gate.cancels, "the gate is never asked");
    }

    // ------------------------------------------------------------ the gate and the wire

    /** A cancel that writes down what the relay decided for it. */
    private static Cancel recorded(List<String> decisions, String name) {
        return new Cancel() {
            @Override
            public void forward() {
                decisions.add(name + " forwarded");
            }

            @Override
            public void settle(String how) {
                decisions.add(name + " settled");
            }
        };
    }

    /** Passes everything on; prepares Queries starting with "slow", which complete on {@link #finish}. */
    private static final class PreparingGate implements SessionGate {
        final List<Frame> seen = new ArrayList<>();
        final List<String> cancels = new ArrayList<>();
        int owed;
        boolean applies;
        private final List<CompletableFuture<Void>> pending = new ArrayList<>();

        @Override
        public void cancelHeld() {
            cancels.add("held");
        }

        @Override
        public boolean cancelApplied() {
            cancels.add("settled");
            return applies;
        }

        @Override
        public int pendingAnswers() {
            return owed;
        }

        @Override
        public CompletableFuture<Void> prepare(Frame frame) {
            seen.add(frame);
            if (frame.tag() != 'Q' || !text(frame).startsWith("slow")) {
                return null;
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        }

        @Override
        public void onClientFrame(Frame frame, Consumer<Frame> toBackend) {
            toBackend.accept(frame);
        }

        @Override
        public void onBackendFrame(Frame frame, Consumer<Frame> toClient) {
            toClient.accept(frame);
        }

        @Override
        public boolean passesDataUnseen() {
            return true;
        }

        void finish() {
            pending.remove(0).complete(null);
        }

        boolean released() {
            return seen.stream().allMatch(f -> f.body().refCnt() == 0);
        }
    }

    private void flushTasks() {
        client.runPendingTasks();
        backend.runPendingTasks();
    }

    /** The messages written to the backend since the last call, as "tag text". */
    private List<String> sentToBackend() {
        flushTasks();
        ByteBuf all = Unpooled.buffer();
        for (Object o; (o = backend.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        List<String> out = new ArrayList<>();
        while (all.isReadable()) {
            char tag = (char) all.readByte();
            int len = all.readInt();
            String body = all.readCharSequence(len - 4, StandardCharsets.UTF_8).toString().replace("\0", "");
            out.add(body.isEmpty() ? String.valueOf(tag) : tag + " " + body);
        }
        all.release();
        return out;
    }

    private static String text(Frame f) {
        ByteBuf b = f.body();
        return b.toString(b.readerIndex(), Math.max(0, b.readableBytes() - 1), StandardCharsets.UTF_8);
    }

    private static byte[] message(char tag, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ByteBuf m = Unpooled.buffer().writeByte(tag).writeInt(4 + b.length).writeBytes(b);
        byte[] out = new byte[m.readableBytes()];
        m.readBytes(out);
        m.release();
        return out;
    }

    private static byte[] query(String sql) {
        return message('Q', sql + "\0");
    }

    private static byte[] sync() {
        return message('S', "");
    }

    private static byte[] copyData(String row) {
        return message('d', row);
    }

    private static byte[] copyDone() {
        return message('c', "");
    }

    private static ByteBuf wire(byte[]... messages) {
        ByteBuf b = Unpooled.directBuffer();
        for (byte[] m : messages) {
            b.writeBytes(m);
        }
        return b;
    }
}
