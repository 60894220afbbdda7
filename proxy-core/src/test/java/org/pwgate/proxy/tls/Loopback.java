package org.pwgate.proxy.tls;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Real sockets on 127.0.0.1 for handshake tests: one small event loop, servers and clients on it. */
final class Loopback implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    /** Binds a server on an ephemeral port; {@code init} builds each accepted channel's pipeline. */
    Channel server(Consumer<Channel> init) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        init.accept(ch);
                        ch.pipeline().addLast(new CloseOnError());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    static int port(Channel server) {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Connects a plain client whose pipeline {@code init} builds. */
    Channel connect(int port, Consumer<Channel> init) throws InterruptedException {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        init.accept(ch);
                    }
                })
                .connect("127.0.0.1", port).sync().channel();
    }

    /** A TLS client: SslHandler first, then a collector of what the server sends back. */
    TlsClient tlsClient(int port, SslContext context) throws InterruptedException {
        Collector collector = new Collector();
        SslHandler[] ssl = new SslHandler[1];
        Channel ch = connect(port, c -> {
            ssl[0] = context.newHandler(c.alloc(), "127.0.0.1", port);
            c.pipeline().addLast(ssl[0], collector, new CloseOnError());
        });
        return new TlsClient(ch, ssl[0], collector);
    }

    record TlsClient(Channel channel, SslHandler ssl, Collector received) {
        /** Waits for the handshake; true when it succeeded. */
        boolean handshake() throws InterruptedException {
            return ssl.handshakeFuture().await(10, TimeUnit.SECONDS) && ssl.handshakeFuture().isSuccess();
        }

        String send(String text) throws InterruptedException {
            channel.writeAndFlush(channel.alloc().buffer().writeBytes(text.getBytes(StandardCharsets.UTF_8))).sync();
            return received.take();
        }
    }

    /** Collects received bytes as text, one element per read. */
    static final class Collector extends ChannelInboundHandlerAdapter {
        final BlockingQueue<String> reads = new LinkedBlockingQueue<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                reads.add(b.toString(StandardCharsets.UTF_8));
            }
            ReferenceCountUtil.release(msg);
        }

        String take() throws InterruptedException {
            String s = reads.poll(10, TimeUnit.SECONDS);
            if (s == null) {
                throw new AssertionError("nothing received within 10 s");
            }
            return s;
        }
    }

    /** Echoes every byte: the application behind a server-side SslHandler. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** Refused handshakes are what several tests expect: close quietly instead of logging a stack trace. */
    @ChannelHandler.Sharable
    static final class CloseOnError extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    static SslContextBuilder clientTrusting(Path ca) {
        return SslContextBuilder.forClient().trustManager(ca.toFile());
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
