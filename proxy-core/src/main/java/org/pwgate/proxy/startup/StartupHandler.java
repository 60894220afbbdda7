package org.pwgate.proxy.startup;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.pwgate.auth.AuthOutcome;
import org.pwgate.auth.ClientAuthenticator;
import org.pwgate.auth.Credential;
import org.pwgate.config.Units;
import org.pwgate.proxy.admin.ShutdownCoordinator;
import org.pwgate.proxy.backend.BackendLoginException;
import org.pwgate.proxy.backend.BackendSession;
import org.pwgate.proxy.cancel.Cancel;
import org.pwgate.proxy.cancel.CancelRegistry;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationMd5Password;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationOk;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.NegotiateProtocolVersion;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.BackendMessage.ReadyForQuery;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrontendCodec;
import org.pwgate.proxy.protocol.MalformedMessageException;
import org.pwgate.proxy.protocol.ProtocolViolation;
import org.pwgate.proxy.protocol.SqlState;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupPacket;
import org.pwgate.proxy.protocol.StartupRequest;
import org.pwgate.proxy.protocol.StartupRequest.CancelRequest;
import org.pwgate.proxy.protocol.StartupRequest.GssEncRequest;
import org.pwgate.proxy.protocol.StartupRequest.SslRequest;
import org.pwgate.proxy.protocol.StartupRequest.StartupMessage;
import org.pwgate.proxy.protocol.StartupRequest.UnsupportedProtocol;
import org.pwgate.proxy.metrics.QueryTracker;
import org.pwgate.proxy.relay.SessionRelay;
import org.pwgate.proxy.session.SessionState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client connection from its first byte until its session is relayed: startup packet, MD5
 * authentication, backend login. It then installs the {@link SessionRelay} and removes itself.
 *
 * <pre>
 *   AWAITING_STARTUP --SSLRequest/GSSENCRequest: 'N'--> AWAITING_STARTUP
 *                    --CancelRequest: forward, close once done--> CLOSED
 *                    --StartupMessage: MD5 challenge--> AWAITING_PASSWORD --PasswordMessage-->
 *   VERIFYING (credential lookup, async) --ok--> CONNECTING_BACKEND --ReadyForQuery--> ESTABLISHED
 *   any refusal, timeout or violation: ErrorResponse, close --> CLOSED
 * </pre>
 */
public final class StartupHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StartupHandler.class);
    /**
     * The earliest a refused login is answered, counted from its PasswordMessage. Looking up a
     * known user returns a row and an unknown one none, which takes measurably different time
     * (tens of microseconds): answering every refusal at the same moment keeps response times
     * from telling which user names exist. Logins that succeed are not delayed.
     */
    static final Duration REFUSAL_FLOOR = Duration.ofMillis(25);
    /** Frames a client may pipeline behind its password before its session exists. */
    private static final int MAX_PENDING_FRAMES = 1024;

    enum State { AWAITING_STARTUP, AWAITING_PASSWORD, VERIFYING, CONNECTING_BACKEND, ESTABLISHED, CLOSED }

    private final StartupServices services;
    private final FrameDecoder decoder;
    private final long connectionId;
    private final String connId;
    private final boolean overConnectionLimit;

    private State state = State.AWAITING_STARTUP;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> authTimeout;
    private String user;
    private String database;
    private Map<String, String> backendParameters;
    private byte[] salt;
    private Future<BackendSession> pendingBackend;
    private final List<Frame> pending = new ArrayList<>();
    /** When the PasswordMessage arrived: refusals are answered no earlier than REFUSAL_FLOOR after it. */
    private long passwordReceivedAt;

    public StartupHandler(StartupServices services, FrameDecoder decoder, long connectionId, boolean overConnectionLimit) {
        this.services = services;
        this.decoder = decoder;
        this.connectionId = connectionId;
        this.connId = "c" + connectionId;
        this.overConnectionLimit = overConnectionLimit;
    }

    State state() {
        return state;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        Duration timeout = services.config().get().limits().authTimeout();
        authTimeout = ctx.executor().schedule(this::onAuthTimeout, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ProtocolViolation v) {
            refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, v.message()), "protocol violation: " + v.message());
        } else if (msg instanceof StartupPacket packet) {
            try {
                onStartupPacket(StartupCodec.decode(packet.body()));
            } catch (MalformedMessageException e) {
                refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, e.getMessage()), "malformed startup packet: " + e.getMessage());
            } finally {
                packet.release();
            }
        } else if (msg instanceof Frame frame) {
            onFrame(frame);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onStartupPacket(StartupRequest request) {
        if (state != State.AWAITING_STARTUP) {
            return;
        }
        if (request instanceof SslRequest || request instanceof GssEncRequest) {
            // The TlsNegotiationHandler in front answers encryption requests when TLS is configured;
            // one that reaches this point inside TLS is a second request, which PostgreSQL refuses.
            if (ctx.pipeline().get(io.netty.handler.ssl.SslHandler.class) != null) {
                int code = request instanceof SslRequest ? 80877103 : 80877104;
                refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, String.format(Locale.ROOT,
                        "unsupported frontend protocol %d.%d: server supports 3.0", code >>> 16, code & 0xFFFF)),
                        "encryption requested again inside TLS");
                return;
            }
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('N'));
        } else if (request instanceof CancelRequest cancel) {
            onCancel(cancel);
        } else if (request instanceof UnsupportedProtocol p) {
            refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, String.format(Locale.ROOT,
                    "unsupported frontend protocol %d.%d: server supports 3.0", p.code() >>> 16, p.code() & 0xFFFF)),
                    "unsupported protocol version " + (p.code() >>> 16) + "." + (p.code() & 0xFFFF));
        } else if (request instanceof StartupMessage m) {
            decoder.expectTagged();
            onStartupMessage(m);
        }
    }

    private void onCancel(CancelRequest cancel) {
        state = State.CLOSED;
        Optional<CancelRegistry.Target> target = services.cancelRegistry().lookup(cancel.processId(), cancel.secretKey());
        if (target.isEmpty()) {
            log.debug("{}: cancel request with an unknown key, dropped", connId);
            ctx.close();
            return;
        }
        // The connection stays open until the cancel is done, as PostgreSQL's does (see Cancel).
        Cancel request = new ClientCancel(target.get());
        try {
            // The session may answer the cancel itself (a statement it still holds), or forward later.
            target.get().onCancel().accept(request);
        } catch (RuntimeException e) {
            log.warn("{}: the session could not take the cancel request ({}); forwarding it", connId, e.toString());
            request.forward();
        }
    }

    /** The cancel this connection carries; its first decision closes the connection, at once or once forwarded. */
    private final class ClientCancel implements Cancel {
        private final CancelRegistry.Target target;
        private final AtomicBoolean decided = new AtomicBoolean();
        private final long start = System.nanoTime();

        ClientCancel(CancelRegistry.Target target) {
            this.target = target;
        }

        @Override
        public void forward() {
            if (!decided.compareAndSet(false, true)) {
                return;
            }
            // One line per cancel, as per session: a slow or lost cancel can then be placed between
            // the client, pwgate and the server's log. The keys themselves are never logged.
            try {
                services.cancelForwarder().forward(ctx.channel().eventLoop(), target).addListener(f -> {
                    long ms = (System.nanoTime() - start) / 1_000_000;
                    if (f.isSuccess()) {
                        log.info("{}: cancel request forwarded to the backend, which took it in {} ms", connId, ms);
                    } else {
                        log.warn("{}: forwarding a cancel request failed after {} ms: {}", connId, ms, f.cause().toString());
                    }
                    ctx.close();
                });
            } catch (RuntimeException e) { // the event loop is shutting down
                log.warn("{}: forwarding a cancel request failed: {}", connId, e.toString());
                ctx.close();
            }
        }

        @Override
        public void settle(String how) {
            if (decided.compareAndSet(false, true)) {
                log.info("{}: cancel request not forwarded: the session {}", connId, how);
                ctx.close();
            }
        }
    }

    private void onStartupMessage(StartupMessage m) {
        if (overConnectionLimit) {
            services.metrics().clientRefusedByLimit();
            refuse(ErrorResponse.fatal(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already"),
                    "max_client_connections reached");
            return;
        }
        Map<String, String> params = m.parameters();
        user = params.get("user");
        if (user == null || user.isEmpty()) {
            refuse(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "no PostgreSQL user name specified in startup packet"), "startup packet without a user name");
            return;
        }
        Optional<String> certRefusal = services.serverTls().flatMap(t -> t.clientCertificateRefusal(ctx.channel(), user));
        if (certRefusal.isPresent()) {
            refuse(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "certificate authentication failed for user \"" + user + "\""), certRefusal.get());
            return;
        }
        String db = params.get("database");
        database = db == null || db.isEmpty() ? user : db;
        String replication = params.get("replication");
        if (replication != null && !isFalse(replication)) {
            refuse(ErrorResponse.fatal(SqlState.FEATURE_NOT_SUPPORTED, "pwgate does not support replication connections"),
                    "replication connection refused");
            return;
        }
        List<String> unrecognised = new ArrayList<>();
        Map<String, String> toBackend = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            if (k.startsWith("_pq_.")) {
                unrecognised.add(k);
            } else if (!k.equals("user") && !k.equals("database") && !k.equals("replication")) {
                toBackend.put(k, v);
            }
        });
        String options = toBackend.getOrDefault("options", "");
        // password_encryption=md5 keeps passwords set through pwgate usable with MD5 logins; it goes
        // last so that it wins over a client's own -c password_encryption.
        toBackend.put("options", (options.isBlank() ? "" : options + " ") + "-c password_encryption=md5");
        backendParameters = toBackend;
        if (m.minorVersion() > 0 || !unrecognised.isEmpty()) {
            write(new NegotiateProtocolVersion(0, unrecognised));
        }
        salt = services.authenticator().newSalt();
        write(new AuthenticationMd5Password(salt));
        ctx.flush();
        state = State.AWAITING_PASSWORD;
    }

    private static boolean isFalse(String value) {
        String v = value.toLowerCase(Locale.ROOT);
        return v.equals("false") || v.equals("off") || v.equals("no") || v.equals("0");
    }

    private void onFrame(Frame frame) {
        switch (state) {
            case AWAITING_PASSWORD -> {
                if (frame.tag() != 'p') {
                    byte tag = frame.tag();
                    frame.release();
                    refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "expected password response, got message type " + (tag & 0xFF)), "no password response");
                    return;
                }
                String response;
                try {
                    response = FrontendCodec.decodePassword(frame.body()).password();
                } catch (MalformedMessageException e) {
                    refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "invalid password packet"), "malformed password message");
                    return;
                } finally {
                    frame.release();
                }
                verify(response);
            }
            case VERIFYING, CONNECTING_BACKEND -> {
                if (pending.size() >= MAX_PENDING_FRAMES) {
                    frame.release();
                    refuse(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "too many messages before the session started"),
                            "too many pipelined messages during login");
                    return;
                }
                pending.add(frame);
            }
            default -> frame.release();
        }
    }

    private void verify(String response) {
        state = State.VERIFYING;
        passwordReceivedAt = System.nanoTime();
        var loop = ctx.channel().eventLoop();
        try {
            services.credentials().lookup(user).whenComplete((credential, error) ->
                    loop.execute(() -> onCredential(credential, error, response)));
        } catch (RuntimeException e) {
            onCredential(null, e, response);
        }
    }

    private void onCredential(Optional<Credential> credential, Throwable error, String response) {
        if (state != State.VERIFYING) {
            return;
        }
        if (error != null) {
            log.warn("{}: credential lookup for user \"{}\" failed: {}", connId, user, error.toString());
            services.metrics().authSourceUnavailable();
            refuse(ErrorResponse.fatal(SqlState.CANNOT_CONNECT_NOW, "pwgate cannot verify logins right now"),
                    "credential source unavailable");
            return;
        }
        AuthOutcome outcome = services.authenticator().authenticate(user, credential, salt, response, services.clock().instant());
        if (outcome instanceof AuthOutcome.Refused refused) {
            log.info("{}: login refused for user \"{}\" from {}: {}", connId, user, ctx.channel().remoteAddress(),
                    refused.reason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
            services.metrics().authRefused(refused.reason());
            Duration throttled = services.throttle().onFailure(user, ctx.channel().remoteAddress());
            if (throttled.compareTo(Duration.ZERO) > 0) {
                services.metrics().loginThrottled(throttled);
            }
            ErrorResponse refusal = ErrorResponse.fatal(SqlState.INVALID_PASSWORD,
                    ClientAuthenticator.failureMessage(user));
            long sinceNanos = System.nanoTime() - passwordReceivedAt;
            long waitNanos = Math.max(throttled.toNanos(), REFUSAL_FLOOR.toNanos() - sinceNanos);
            state = State.CLOSED;
            if (waitNanos <= 0) {
                writeAndClose(refusal);
            } else {
                ctx.channel().config().setAutoRead(false);
                ctx.executor().schedule(() -> writeAndClose(refusal), waitNanos, TimeUnit.NANOSECONDS);
            }
            return;
        }
        services.metrics().authAccepted();
        decoder.authenticated();
        services.throttle().onSuccess(user, ctx.channel().remoteAddress());
        state = State.CONNECTING_BACKEND;
        pendingBackend = services.backend().connect(ctx.channel().eventLoop(), user, database, backendParameters,
                Optional.of(((AuthOutcome.Accepted) outcome).storedMd5().reveal()));
        pendingBackend.addListener(f -> onBackend(pendingBackend));
    }

    private void onBackend(Future<BackendSession> result) {
        if (state != State.CONNECTING_BACKEND) {
            if (result.isSuccess()) {
                result.getNow().close();
            }
            return;
        }
        if (!result.isSuccess()) {
            Throwable cause = result.cause();
            if (cause instanceof BackendLoginException e) {
                log.warn("{}: backend login for user \"{}\" failed: {}", connId, user, e.getMessage());
                refuse(e.forClient(), null);
            } else {
                log.warn("{}: backend login for user \"{}\" failed: {}", connId, user, String.valueOf(cause));
                refuse(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "pwgate could not open a backend session"), null);
            }
            return;
        }
        establish(result.getNow());
    }

    private void establish(BackendSession backend) {
        state = State.ESTABLISHED;
        authTimeout.cancel(false);
        SessionState session = new SessionState(connectionId, ctx.channel().remoteAddress(), user, database);
        write(new AuthenticationOk());
        for (ParameterStatus p : backend.parameters()) {
            session.onParameterStatus(p.name(), p.value());
            write(p);
        }
        // The relay is made below, after the key is registered; a cancel that comes before it is set
        // is forwarded at once, as for any session with nothing held.
        AtomicReference<SessionRelay> relayForCancels = new AtomicReference<>();
        Optional<BackendKeyData> clientKey = backend.key().map(k -> services.cancelRegistry().register(
                new CancelRegistry.Target(services.backend().address(), k, cancel -> {
                    SessionRelay r = relayForCancels.get();
                    if (r != null) {
                        r.cancelRequested(cancel);
                    } else {
                        cancel.forward();
                    }
                })));
        clientKey.ifPresent(this::write);
        write(new ReadyForQuery(backend.transactionStatus()));
        log.info("{}: session started for user \"{}\" database \"{}\" from {}", connId, user, database,
                ctx.channel().remoteAddress());
        QueryTracker tracker = new QueryTracker(services.metrics());
        SessionRelay relay = new SessionRelay(connId, ctx.channel(), backend.channel(), session,
                services.gates().forSession(session), services.metrics(), tracker, () -> {
                    clientKey.ifPresent(services.cancelRegistry()::unregister);
                    log.info("{}: session ended", connId);
                });
        relayForCancels.set(relay);
        services.metrics().backendOpened();
        backend.channel().closeFuture().addListener(f -> services.metrics().backendClosed());
        // Graceful shutdown waits for sessions with a query in flight and ends idle ones with 57P01.
        ShutdownCoordinator.Registration registration = services.shutdown().register(new ShutdownCoordinator.LiveSession() {
            @Override
            public boolean isIdle() {
                return tracker.isIdle();
            }

            @Override
            public void terminate(ErrorResponse error) {
                relay.terminate(error);
            }
        });
        ctx.channel().closeFuture().addListener(f -> registration.close());
        List<Frame> handOver = new ArrayList<>(pending);
        pending.clear();
        ctx.pipeline().remove(this);
        relay.start(backend, handOver);
    }

    private void onAuthTimeout() {
        if (state == State.ESTABLISHED || state == State.CLOSED) {
            return;
        }
        String waitingFor = switch (state) {
            case AWAITING_STARTUP -> "no startup packet";
            case AWAITING_PASSWORD -> "no password";
            case VERIFYING -> "the credential lookup did not answer";
            default -> "the backend session did not open";
        };
        refuse(ErrorResponse.fatal(SqlState.QUERY_CANCELED, "canceling authentication due to timeout"),
                "authentication timed out (limits.auth_timeout, " + Units.format(services.config().get().limits().authTimeout())
                        + "): " + waitingFor);
    }

    /** Answers with a fatal error, closes after the flush; {@code logReason} null when already logged. */
    private void refuse(ErrorResponse error, String logReason) {
        if (logReason != null) {
            log.info("{}: connection refused: {}", connId, logReason);
        }
        writeAndClose(error);
    }

    private void writeAndClose(ErrorResponse error) {
        state = State.CLOSED;
        releasePending();
        if (pendingBackend != null) {
            pendingBackend.cancel(false);
        }
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(BackendCodec.encode(error, ctx.alloc())).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.close();
        }
    }

    private void write(BackendMessage message) {
        ByteBuf buf = BackendCodec.encode(message, ctx.alloc());
        ctx.write(buf, ctx.voidPromise());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state != State.ESTABLISHED) {
            state = State.CLOSED;
            if (pendingBackend != null) {
                pendingBackend.cancel(false);
            }
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (authTimeout != null && state != State.ESTABLISHED) {
            authTimeout.cancel(false);
        }
        releasePending();
    }

    private void releasePending() {
        pending.forEach(Frame::release);
        pending.clear();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("{}: connection error during startup: {}", connId, cause.toString());
        } else if (cause instanceof io.netty.handler.codec.DecoderException
                && cause.getCause() instanceof javax.net.ssl.SSLException tls) {
            // A client that does not trust pwgate's certificate, or brings none or a wrong one.
            log.info("{}: TLS handshake with the client failed: {}", connId, tls.getMessage());
        } else {
            log.warn("{}: unexpected error during startup: {}", connId, cause.toString());
        }
        state = State.CLOSED;
        releasePending();
        ctx.close();
    }
}
