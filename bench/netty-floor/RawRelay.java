import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.net.InetSocketAddress;

/**
 * The floor a Netty proxy cannot go below: bytes from each side written to the other as they
 * come, flushed once per read batch, one event loop, no framing, gate, metrics or auth (the
 * client's login passes through to PostgreSQL). For measurement only (bench/RESULTS.md,
 * optimisation log), never a product path. Runs on pwgate's jar, which carries Netty:
 *
 *   java -XX:+UseSerialGC -Dio.netty.leakDetection.level=disabled \
 *        -cp proxy-core/target/pwgate.jar bench/netty-floor/RawRelay.java LISTEN_PORT PG_PORT
 */
public final class RawRelay {
    public static void main(String[] args) throws Exception {
        int listen = Integer.parseInt(args[0]);
        InetSocketAddress backend = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1]));
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(new Connect(backend));
                    }
                }).bind("127.0.0.1", listen).sync();
        System.out.println("relaying 127.0.0.1:" + listen + " -> " + backend);
        Thread.currentThread().join();
    }

    /** One direction: what is read here is written to {@code peer}. */
    private static final class Pipe extends ChannelInboundHandlerAdapter {
        private final Channel peer;

        Pipe(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            peer.write(msg, peer.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            peer.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** On accept: connect to the backend on the same loop, then pipe both ways. */
    private static final class Connect extends ChannelInboundHandlerAdapter {
        private final InetSocketAddress backend;

        Connect(InetSocketAddress backend) {
            this.backend = backend;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            new Bootstrap().group(client.eventLoop()).channel(EpollSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(backend)
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            client.close();
                            return;
                        }
                        Channel server = f.channel();
                        server.pipeline().addLast(new Pipe(client));
                        client.pipeline().replace(this, "pipe", new Pipe(server));
                        client.config().setAutoRead(true);
                    });
        }
    }
}
