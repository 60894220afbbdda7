package org.pwgate.proxy.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Wakes the event loop once per 32 KiB of a bulk stream instead of once per packet. PostgreSQL
 * sends a COPY TO STDOUT or a large result in 8 KiB writes (a client's COPY FROM STDIN comes in
 * whatever writes the client makes). Relayed as they come, each one wakes the loop, which then
 * wakes the peer with a write of the same size. Measured on a COPY out (bench/RESULTS.md), the
 * mark takes a third of pwgate's CPU and of psql's away, and PostgreSQL's backend, preempted less
 * often by threads woken onto its core, sends faster.
 *
 * <pre>
 *   NORMAL --(data past THRESHOLD since the last other message, at a read's end)--> RAISED
 *   RAISED --(no read for PAUSE, or a message that is not data)--> NORMAL
 * </pre>
 *
 * In RAISED, the socket's SO_RCVLOWAT is {@link #LOW_WATER}: the kernel reports it readable
 * once that much has arrived (or the peer closed, or the receive buffer is under pressure). What
 * is left below the mark, such as the end of a stream, is released by the pause timer: lowering
 * SO_RCVLOWAT makes a TCP socket readable at once when data is waiting (Linux 4.18 and later).
 * So the tail of a stream is held for at most {@link #PAUSE_NANOS} after the last read; streams
 * shorter than {@link #THRESHOLD} and all other traffic never see the mark.
 *
 * Only TCP sockets on the native epoll transport: a Unix-domain socket's readiness ignores
 * SO_RCVLOWAT, and NIO cannot set it. One instance per channel, used on its event loop only.
 */
final class BulkReads {
    /** Data in a row before the mark goes up: a larger stream's transfer time dwarfs the pause at its end. */
    static final long THRESHOLD = 1 << 20;
    /**
     * Four of PostgreSQL's 8 KiB writes, well under the default initial receive buffer (128 KiB):
     * the kernel grows a receive buffer too small for a mark and clamps the window to it.
     */
    static final int LOW_WATER = 32 * 1024;
    /**
     * A stream this long without a mark's worth has paused or ended: what is waiting is read. At
     * PostgreSQL's COPY-out rate a mark's worth comes every 150 µs or so.
     */
    static final long PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(200);
    static final IntegerUnixChannelOption SO_RCVLOWAT =
            new IntegerUnixChannelOption("SO_RCVLOWAT", 1 /* SOL_SOCKET */, 18 /* SO_RCVLOWAT */);
    private static final boolean KERNEL_WAKES_ON_LOWER =
            "Linux".equals(System.getProperty("os.name")) && kernelAtLeast(System.getProperty("os.version", ""), 4, 18);

    private enum State { NORMAL, RAISED, OFF }

    private final Channel ch;
    private State state;
    private long streamed;
    /** Lowers the mark unless a read comes first: moved on at every read while the mark is up. */
    private ScheduledFuture<?> pause;
    private final Runnable onPause = this::onPause;

    BulkReads(Channel ch) {
        this.ch = ch;
        this.state = KERNEL_WAKES_ON_LOWER && ch instanceof EpollSocketChannel ? State.NORMAL : State.OFF;
    }

    /** A run of data messages ({@code length} bytes) arrived. */
    void data(int length) {
        streamed += length;
    }

    /** A message that is not data arrived: the stream, if there was one, is over. */
    void otherMessage() {
        streamed = 0;
        if (state == State.RAISED) {
            lower();
        }
    }

    /** The channel's read batch ended. */
    void readComplete() {
        if (state == State.RAISED) {
            armPause();
        } else if (state == State.NORMAL && streamed >= THRESHOLD) {
            raise();
        }
    }

    private void raise() {
        try {
            if (ch.config().getOption(ChannelOption.SO_RCVBUF) < 4 * LOW_WATER) {
                state = State.OFF;
                return;
            }
            ch.config().setOption(SO_RCVLOWAT, LOW_WATER);
        } catch (ChannelException e) {
            state = State.OFF; // the socket is closing
            return;
        }
        state = State.RAISED;
        armPause();
    }

    private void lower() {
        state = State.NORMAL;
        if (pause != null) {
            pause.cancel(false);
            pause = null;
        }
        try {
            ch.config().setOption(SO_RCVLOWAT, 1);
        } catch (ChannelException e) {
            state = State.OFF;
        }
    }

    /**
     * Cancelled and scheduled again at each read rather than checked when due: a check that found
     * a read since would have to wake the loop once per pause all through a stream.
     */
    private void armPause() {
        if (pause != null) {
            pause.cancel(false);
        }
        try {
            pause = ch.eventLoop().schedule(onPause, PAUSE_NANOS, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            pause = null; // the event loop is shutting down: nothing is relayed any more
        }
    }

    private void onPause() {
        pause = null;
        if (state == State.RAISED && ch.isOpen()) {
            lower();
        }
    }

    /** Whether {@code version} (as in os.version: "6.8.0-45-generic") is at least major.minor. */
    static boolean kernelAtLeast(String version, int major, int minor) {
        String[] parts = version.split("[^0-9]+", 3);
        try {
            int ma = Integer.parseInt(parts[0]);
            int mi = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return ma > major || (ma == major && mi >= minor);
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
