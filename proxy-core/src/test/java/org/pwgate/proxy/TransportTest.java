package org.pwgate.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The backend address and client channel each transport makes for a TCP host and for a socket directory. */
class TransportTest {
    @TempDir
    Path dir;

    @Test
    void aHostNameIsTcp() {
        SocketAddress a = Transport.nio().backendAddress("localhost", 5433);
        assertInstanceOf(InetSocketAddress.class, a);
        assertEquals("localhost:5433", Transport.describe(a));
    }

    @Test
    void nioReachesTheSocketFileInTheDirectory() throws Exception {
        reachesSocket(Transport.nio());
    }

    @Test
    void epollReachesTheSocketFileInTheDirectory() throws Exception {
        assumeTrue(Epoll.isAvailable(), "native epoll is not available here");
        reachesSocket(Transport.epoll());
    }

    /** A server on {@code dir/.s.PGSQL.6543}, as PostgreSQL names it, receives what the transport's channel writes. */
    private void reachesSocket(Transport transport) throws Exception {
        Path socket = dir.resolve(".s.PGSQL.6543");
        SocketAddress address = transport.backendAddress(dir.toString(), 6543);
        assertEquals("unix socket " + socket, Transport.describe(address));
        EventLoopGroup group = transport.newGroup(1, "transport-test");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertTrue(Files.exists(socket));
            Channel ch = transport.clientBootstrap(group.next(), Duration.ofSeconds(5), address)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(address).sync().channel();
            assertEquals(transport.domainChannelClass(), ch.getClass());
            byte[] sent = "hello over the socket".getBytes(StandardCharsets.US_ASCII);
            ch.writeAndFlush(Unpooled.wrappedBuffer(sent)).sync();
            try (SocketChannel accepted = server.accept()) {
                assertArrayEquals(sent, readFully(accepted, sent.length));
            }
            ch.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static byte[] readFully(SocketChannel ch, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
                break;
            }
        }
        return java.util.Arrays.copyOf(buf.array(), buf.position());
    }
}
