package org.pwgate.proxy.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.metrics.PwgateMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin HTTP listener ({@code admin: { host, port }}), for Prometheus and the orchestrator:
 *
 * <pre>
 *   GET /metrics  200  Prometheus text format 0.0.4
 *   GET /livez    200 "ok" while pwgate's event loops run (a stuck loop never answers: the probe times out)
 *   GET /readyz   200 "ready" when a new client could log in (backend reachable, credential source
 *                 answering); 503 and a one-line reason otherwise, or while shutting down
 *   other path    404;  other method  405
 * </pre>
 *
 * HTTP/1.0 and 1.1, one request per connection (the response closes it), requests capped at
 * {@value #MAX_REQUEST_LINE} bytes of request line, {@value #MAX_HEADERS} of headers and
 * {@value #MAX_BODY} of body. It shares the proxy's event loop group; the readiness check is
 * asynchronous and answered on the channel's loop, never waited for.
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    static final int MAX_REQUEST_LINE = 4096;
    static final int MAX_HEADERS = 8192;
    static final int MAX_BODY = 1024;
    static final Duration DEFAULT_READINESS_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(10);

    private final Channel listener;
    private final AtomicBoolean draining;

    private AdminServer(Channel listener, AtomicBoolean draining) {
        this.listener = listener;
        this.draining = draining;
    }

    /** Binds {@code admin.host:admin.port} (port 0: an ephemeral one) on the given group. */
    public static AdminServer start(PwgateConfig.Admin admin, Transport transport, EventLoopGroup group,
                                    PwgateMetrics metrics, Supplier<? extends CompletionStage<Readiness>> readiness)
            throws IOException {
        return start(admin, transport, group, metrics, readiness, DEFAULT_READINESS_TIMEOUT);
    }

    public static AdminServer start(PwgateConfig.Admin admin, Transport transport, EventLoopGroup group,
                                    PwgateMetrics metrics, Supplier<? extends CompletionStage<Readiness>> readiness,
                                    Duration readinessTimeout) throws IOException {
        AtomicBoolean draining = new AtomicBoolean();
        Endpoints endpoints = new Endpoints(metrics, readiness, readinessTimeout, draining, group);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("idle", new ReadTimeoutHandler(IDLE_TIMEOUT.toSeconds(), TimeUnit.SECONDS));
                        ch.pipeline().addLast("http", new HttpServerCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(MAX_REQUEST_LINE)
                                .setMaxHeaderSize(MAX_HEADERS)));
                        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_BODY, true));
                        ch.pipeline().addLast("endpoints", new Handler(endpoints));
                    }
                });
        try {
            Channel ch = b.bind(admin.host(), admin.port()).sync().channel();
            AdminServer server = new AdminServer(ch, draining);
            log.info("admin listener on http://{}:{} (/metrics, /livez, /readyz)", admin.host(), server.localAddress().getPort());
            return server;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding the admin listener", e);
        } catch (Exception e) { // sync() also rethrows the bind's own IOException, undeclared
            throw new IOException("cannot listen on " + admin.host() + ":" + admin.port() + " (admin.port): " + e.getMessage(), e);
        }
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** From now on /readyz answers 503 "shutting down", so that load balancers stop sending clients. */
    public void startDraining() {
        draining.set(true);
    }

    @Override
    public void close() {
        listener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** What the endpoints need; shared by every connection's handler. */
    private record Endpoints(PwgateMetrics metrics, Supplier<? extends CompletionStage<Readiness>> readiness,
                             Duration readinessTimeout, AtomicBoolean draining, EventLoopGroup group) {}

    /** One per connection: it answers one request and closes. */
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Endpoints endpoints;
        private boolean answered;

        Handler(Endpoints endpoints) {
            this.endpoints = endpoints;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (answered) {
                return;
            }
            answered = true;
            ctx.channel().config().setAutoRead(false);
            if (request.decoderResult().isFailure()) {
                respond(ctx, HttpResponseStatus.BAD_REQUEST, "bad request\n");
                return;
            }
            String uri = request.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            boolean known = path.equals("/metrics") || path.equals("/livez") || path.equals("/readyz");
            if (!known) {
                respond(ctx, HttpResponseStatus.NOT_FOUND, "not found\n");
                return;
            }
            if (!request.method().equals(HttpMethod.GET)) {
                FullHttpResponse r = response(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "method not allowed\n", TEXT);
                r.headers().set(HttpHeaderNames.ALLOW, "GET");
                send(ctx, r);
                return;
            }
            switch (path) {
                case "/metrics" -> send(ctx, response(ctx, HttpResponseStatus.OK, endpoints.metrics().scrape(),
                        PwgateMetrics.CONTENT_TYPE));
                case "/livez" -> {
                    if (endpoints.group().isShuttingDown()) {
                        respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "event loops stopping\n");
                    } else {
                        respond(ctx, HttpResponseStatus.OK, "ok\n");
                    }
                }
                default -> ready(ctx);
            }
        }

        private void ready(ChannelHandlerContext ctx) {
            if (endpoints.draining().get()) {
                respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "shutting down\n");
                return;
            }
            AtomicBoolean done = new AtomicBoolean();
            var timeout = ctx.executor().schedule(() -> {
                if (done.compareAndSet(false, true)) {
                    respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "readiness check timed out\n");
                }
            }, endpoints.readinessTimeout().toMillis(), TimeUnit.MILLISECONDS);
            CompletionStage<Readiness> check;
            try {
                check = endpoints.readiness().get();
            } catch (RuntimeException e) {
                log.warn("readiness check failed: {}", e.toString());
                check = java.util.concurrent.CompletableFuture.completedFuture(Readiness.down("readiness check failed"));
            }
            check.whenComplete((r, failure) -> ctx.executor().execute(() -> {
                if (!done.compareAndSet(false, true)) {
                    return;
                }
                timeout.cancel(false);
                if (failure != null || r == null) {
                    respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "readiness check failed\n");
                } else if (r.ready()) {
                    respond(ctx, HttpResponseStatus.OK, "ready\n");
                } else {
                    respond(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, r.reason() + "\n");
                }
            }));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof IOException) && !(cause instanceof io.netty.handler.timeout.ReadTimeoutException)) {
                log.debug("admin connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
            }
            ctx.close();
        }

        private static final String TEXT = "text/plain; charset=utf-8";

        private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            send(ctx, response(ctx, status, body, TEXT));
        }

        private static FullHttpResponse response(ChannelHandlerContext ctx, HttpResponseStatus status, String body,
                                                 String contentType) {
            ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            return r;
        }

        private static void send(ChannelHandlerContext ctx, FullHttpResponse response) {
            if (!ctx.channel().isActive()) {
                response.release();
                return;
            }
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
