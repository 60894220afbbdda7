package org.pwgate.proxy.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.Transport;

/**
 * The receive mark on real loopback TCP sockets, as the kernel keeps it: every byte read here
 * counts as data, as a run of CopyData would in the relay.
 */
class BulkReadsTest {
    private EventLoopGroup group;
    private Channel server;
    private final Receiver receiver = new Receiver();

    @Test
    void kernelVersionsAreReadAsOsVersionSpellsThem() {
        assertTrue(BulkReads.kernelAtLeast("6.8.0-45-generic", 4, 18));
        assertTrue(BulkReads.kernelAtLeast("4.18.0-553.el8_10.x86_64", 4, 18));
        assertTrue(BulkReads.kernelAtLeast("5.4", 4, 18));
        assertFalse(BulkReads.kernelAtLeast("4.17.19", 4, 18));
        assertFalse(BulkReads.kernelAtLeast("3.10.0-1160.el7.x86_64", 4, 18));
        assertFalse(BulkReads.kernelAtLeast("", 4, 18));
        assertFalse(BulkReads.kernelAtLeast("unknown", 4, 18));
    }

    @Test
    void aStreamPastTheThresholdRaisesTheMarkAndAShorterOneNever() throws Exception {
        try (Socket client = connect()) {
            OutputStream out = client.getOutputStream();
            long shortStream = BulkReads.THRESHOLD - 64 * 1024;
            write(out, shortStream);
            await(() -> receiver.received.get() == shortStream, "the short stream to arrive");
            assertTrue(receiver.marks.stream().allMatch(m -> m == 1), "a stream under the threshold raised the mark: " + receiver.marks);

            receiver.nonDataNow();                      // the short stream is over
            long total = shortStream + BulkReads.THRESHOLD + 64 * 1024;
            write(out, BulkReads.THRESHOLD + 64 * 1024);
            await(() -> receiver.received.get() == total, "the whole long stream, tail included, to arrive");
            assertTrue(receiver.marks.contains(BulkReads.LOW_WATER), "the mark never went up: " + receiver.marks);
        }
    }

    @Test
    void whatArrivesBelowTheRaisedMarkIsReadOnceTheStreamPauses() throws Exception {
        try (Socket client = connect()) {
            OutputStream out = client.getOutputStream();
            write(out, BulkReads.THRESHOLD + 1);
            await(() -> receiver.marks.contains(BulkReads.LOW_WATER), "the mark to go up");
            // Far below the mark: only the pause timer lowering it lets these bytes be read.
            out.write(new byte[100]);
            out.flush();
            await(() -> receiver.received.get() == BulkReads.THRESHOLD + 101, "the bytes held below the mark");
        }
    }

    @Test
    void aMessageThatIsNotDataLowersTheMarkAndStartsTheCountAgain() throws Exception {
        receiver.nonDataAtFirstRaise = true;
        try (Socket client = connect()) {
            OutputStream out = client.getOutputStream();
            long total = BulkReads.THRESHOLD + BulkReads.THRESHOLD / 2;
            write(out, total);
            await(() -> receiver.received.get() == total, "the stream to arrive");
            int raised = receiver.marks.indexOf(BulkReads.LOW_WATER);
            assertTrue(raised >= 0, "the mark never went up: " + receiver.marks);
            assertEquals(1, receiver.markAfterNonData, "the mark stayed up after a message that is not data");
            List<Integer> after = receiver.marks.subList(raised + 1, receiver.marks.size());
            assertTrue(after.stream().allMatch(m -> m == 1), "the mark went up again before another threshold of data: " + after);
        }
    }

    @BeforeEach
    void start() throws Exception {
        assumeTrue(Epoll.isAvailable(), "native epoll is not available here");
        assumeTrue(BulkReads.kernelAtLeast(System.getProperty("os.version", ""), 4, 18), "the kernel is older than 4.18");
        Transport epoll = Transport.epoll();
        group = epoll.newGroup(1, "bulk-reads-test");
        server = new ServerBootstrap().group(group).channel(epoll.serverChannelClass())
                .childHandler(receiver)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    @AfterEach
    void stop() throws Exception {
        if (group != null) {
            server.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private Socket connect() throws Exception {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(server.localAddress());
        await(() -> receiver.channel != null, "the server to accept");
        return s;
    }

    /** {@code n} bytes in PostgreSQL's 8 KiB writes. */
    private static void write(OutputStream out, long n) throws Exception {
        byte[] chunk = new byte[8192];
        for (long left = n; left > 0; left -= chunk.length) {
            out.write(chunk, 0, (int) Math.min(chunk.length, left));
        }
        out.flush();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    /**
     * One accepted connection: counts what it reads and notes the socket's SO_RCVLOWAT after each
     * read batch. The count is published at the batch's end, after its mark: a test that sees
     * all bytes arrived also sees the mark of the batch that brought the last of them.
     */
    @io.netty.channel.ChannelHandler.Sharable
    private static final class Receiver extends ChannelInboundHandlerAdapter {
        final AtomicLong received = new AtomicLong();
        final List<Integer> marks = new CopyOnWriteArrayList<>();
        volatile Channel channel;
        volatile boolean nonDataAtFirstRaise;
        volatile int markAfterNonData;
        private BulkReads reads;
        private long readThisBatch;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            reads = new BulkReads(ctx.channel());
            channel = ctx.channel();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            reads.data(buf.readableBytes());
            readThisBatch += buf.readableBytes();
            buf.release();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            reads.readComplete();
            int mark = ctx.channel().config().getOption(BulkReads.SO_RCVLOWAT);
            marks.add(mark);
            if (mark == BulkReads.LOW_WATER && nonDataAtFirstRaise) {
                nonDataAtFirstRaise = false;
                reads.otherMessage();
                markAfterNonData = ctx.channel().config().getOption(BulkReads.SO_RCVLOWAT);
            }
            received.addAndGet(readThisBatch);
            readThisBatch = 0;
        }

        void nonDataNow() throws Exception {
            channel.eventLoop().submit(() -> reads.otherMessage()).sync();
        }
    }
}
