package org.pwgate.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrameEncoder;
import org.pwgate.proxy.protocol.FrontendCodec;
import org.pwgate.proxy.protocol.MalformedMessageException;
import org.pwgate.proxy.protocol.ProtocolViolation;
import org.pwgate.proxy.protocol.SqlState;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest;
import org.pwgate.proxy.tls.BackendTls;

/**
 * Opens a connection to the backend and logs in as a given user (used by client sessions, the
 * service connection and the bootstrap). The channel is registered on the caller's event loop, so
 * a session's two channels share one thread.
 *
 * <pre>
 *   connect (connect_timeout) -> [SSLRequest, TLS handshake] -> StartupMessage -> BackendLogin ... -> ReadyForQuery
 * </pre>
 */
public final class BackendConnector {
    public static final String FRAME_DECODER = "frames";
    public static final String FRAME_ENCODER = "frameEncoder";
    public static final String LOGIN_HANDLER = "login";

    private final Transport transport;
    private final SocketAddress address;
    private final Duration connectTimeout;
    private final BackendTls tls;

    /** Plaintext to the backend. */
    public BackendConnector(Transport transport, SocketAddress address, Duration connectTimeout) {
        this(transport, address, connectTimeout, BackendTls.disabled());
    }

    /** {@code address}: host and port, or a Unix-domain socket ({@link Transport#backendAddress}). */
    public BackendConnector(Transport transport, SocketAddress address, Duration connectTimeout, BackendTls tls) {
        this.transport = transport;
        this.address = address;
        this.connectTimeout = connectTimeout;
        this.tls = tls;
    }

    public SocketAddress address() {
        return address;
    }

    public Transport transport() {
        return transport;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * Connects and logs in. {@code parameters} are sent as they are besides user and database.
     * The future fails with {@link BackendLoginException} only.
     */
    public Future<BackendSession> connect(EventLoop loop, String user, String database, Map<String, String> parameters,
                                          Optional<String> storedMd5) {
        Promise<BackendSession> promise = loop.newPromise();
        Map<String, String> startup = new LinkedHashMap<>();
        startup.put("user", user);
        startup.put("database", database);
        parameters.forEach((k, v) -> {
            if (!k.equals("user") && !k.equals("database")) {
                startup.put(k, v);
            }
        });
        BackendLogin login = new BackendLogin(user, storedMd5);
        ChannelFuture connect = transport.clientBootstrap(loop, connectTimeout, address)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(FRAME_DECODER, FrameDecoder.forBackend());
                        ch.pipeline().addLast(FRAME_ENCODER, new FrameEncoder());
                        ch.pipeline().addLast(LOGIN_HANDLER, new LoginHandler(login, promise));
                    }
                })
                .connect(address);
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(new BackendLoginException(
                        ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "pwgate could not connect to the backend server"),
                        "connecting to the backend " + Transport.describe(address) + " failed: " + f.cause().getMessage()));
                return;
            }
            Channel ch = connect.channel();
            tls.negotiate(ch, address).addListener(t -> {
                if (!t.isSuccess()) {
                    promise.tryFailure(new BackendLoginException(
                            ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "pwgate could not connect to the backend server securely"),
                            "TLS to the backend " + Transport.describe(address) + " failed: " + t.cause().getMessage()));
                    return;
                }
                ByteBuf out = ch.alloc().buffer();
                StartupCodec.encode(new StartupRequest.StartupMessage(3, 0, startup), out);
                ch.writeAndFlush(out);
            });
        });
        // connect_timeout bounds the whole login, as libpq's does: a backend that accepts the TCP
        // connection but never answers must not hold the client until auth_timeout.
        ScheduledFuture<?> loginTimeout = loop.schedule(() -> promise.tryFailure(new BackendLoginException(
                        ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "pwgate could not connect to the backend server: timeout"),
                        "the backend " + Transport.describe(address) + " did not complete the login within " + connectTimeout.toMillis() + " ms")),
                connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        promise.addListener(f -> {
            loginTimeout.cancel(false);
            if (!f.isSuccess()) {
                connect.channel().close();
            }
        });
        return promise;
    }

    /** Drives {@link BackendLogin}; after ReadyForQuery it only parks frames for the session's new owner. */
    private static final class LoginHandler extends ChannelInboundHandlerAdapter {
        private final BackendLogin login;
        private final Promise<BackendSession> promise;
        private BackendSession session;

        LoginHandler(BackendLogin login, Promise<BackendSession> promise) {
            this.login = login;
            this.promise = promise;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (session != null && msg instanceof Frame frame) {
                session.addEarlyFrame(frame);
                return;
            }
            if (promise.isDone()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof ProtocolViolation v) {
                fail(ctx, "the backend broke the protocol during login: " + v.message());
                return;
            }
            if (!(msg instanceof Frame frame)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            BackendLogin.Step step;
            try {
                step = login.onMessage(BackendCodec.decode(frame));
            } catch (MalformedMessageException e) {
                fail(ctx, "malformed message from the backend during login: " + e.getMessage());
                return;
            } finally {
                frame.release();
            }
            if (step instanceof BackendLogin.Step.Send send) {
                ByteBuf out = ctx.alloc().buffer();
                FrontendCodec.encode(send.message(), out);
                ctx.writeAndFlush(out);
            } else if (step instanceof BackendLogin.Step.Ready ready) {
                session = new BackendSession(ctx.channel(), ready.parameters(), ready.key(), ready.transactionStatus());
                if (!promise.trySuccess(session)) {
                    session.close();
                }
            } else if (step instanceof BackendLogin.Step.Failed failed) {
                promise.tryFailure(failed.error());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (session != null) {
                session.takeEarlyFrames().forEach(Frame::release);
            }
            fail(ctx, "the backend closed the connection during login");
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, "backend connection error during login: " + cause.getClass().getSimpleName() + ": " + cause.getMessage());
            ctx.close();
        }

        private void fail(ChannelHandlerContext ctx, String reason) {
            if (promise.tryFailure(new BackendLoginException(
                    ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "the backend server closed the connection during login"),
                    reason))) {
                ctx.close();
            }
        }
    }
}
