package org.pwgate.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import org.pwgate.config.PwgateConfig;

/**
 * The socket flavour: native epoll where Netty's native library loads, NIO elsewhere. One event
 * loop group serves every connection; each client's backend channel runs on the client's loop.
 * The backend is reached over TCP or, when backend.host is a socket directory, over PostgreSQL's
 * Unix-domain socket: no TCP/IP stack on either side of that hop, which a proxy next to its
 * database pays for on every message.
 */
public record Transport(String name, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerChannel> serverChannelClass,
                        Class<? extends Channel> channelClass,
                        Class<? extends Channel> domainChannelClass) {

    /**
     * Netty's default allocator (the adaptive pooling allocator in Netty 4.2; {@code
     * -Dio.netty.allocator.type=pooled} selects the classic arena allocator instead). Measured
     * against the arena allocator: see bench/RESULTS.md, optimisation log.
     */
    public static final ByteBufAllocator ALLOCATOR = ByteBufAllocator.DEFAULT;
    /**
     * Explicit water marks: when more than HIGH bytes wait to be written to a channel it turns
     * unwritable and the opposite side stops reading until it drops below LOW.
     */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(32 * 1024, 128 * 1024);

    public static Transport detect() {
        return Epoll.isAvailable() ? epoll() : nio();
    }

    /** Native epoll; only where {@link Epoll#isAvailable()}. */
    public static Transport epoll() {
        return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class, EpollSocketChannel.class,
                EpollDomainSocketChannel.class);
    }

    /** The JDK's NIO, which runs everywhere. */
    public static Transport nio() {
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class,
                NioDomainSocketChannel.class);
    }

    /**
     * The backend's address as this transport's channels take it: host and port, or the socket
     * file {@code .s.PGSQL.<port>} in the directory backend.host names (Netty's own address type
     * for epoll, the JDK's for NIO).
     */
    public SocketAddress backendAddress(String host, int port) {
        if (!PwgateConfig.Backend.isSocketDirectory(host)) {
            return new InetSocketAddress(host, port);
        }
        Path socket = PwgateConfig.Backend.socketFile(host, port);
        return domainChannelClass == EpollDomainSocketChannel.class
                ? new DomainSocketAddress(socket.toString()) : UnixDomainSocketAddress.of(socket);
    }

    /** For logs and errors: "host:port", or "unix socket PATH". */
    public static String describe(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getHostString() + ":" + inet.getPort();
        }
        if (address instanceof DomainSocketAddress unix) {
            return "unix socket " + unix.path();
        }
        if (address instanceof UnixDomainSocketAddress unix) {
            return "unix socket " + unix.getPath();
        }
        return String.valueOf(address);
    }

    private static boolean isDomain(SocketAddress address) {
        return address instanceof DomainSocketAddress || address instanceof UnixDomainSocketAddress;
    }

    public EventLoopGroup newGroup(int threads, String threadPrefix) {
        return new MultiThreadIoEventLoopGroup(threads, new io.netty.util.concurrent.DefaultThreadFactory(threadPrefix, true),
                ioHandlerFactory);
    }

    /**
     * A client bootstrap for connections to {@code remote}, the backend (sessions, service
     * connection, cancel, readiness probe): a TCP channel with Nagle off and keepalive on, or a
     * Unix-domain channel, which has neither option.
     */
    public Bootstrap clientBootstrap(io.netty.channel.EventLoop loop, java.time.Duration connectTimeout, SocketAddress remote) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.ALLOCATOR, ALLOCATOR)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
        if (isDomain(remote)) {
            return b.channel(domainChannelClass);
        }
        return b.channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true);
    }
}
