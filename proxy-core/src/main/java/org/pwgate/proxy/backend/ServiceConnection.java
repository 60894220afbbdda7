package org.pwgate.proxy.backend;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.pwgate.auth.SqlRunner;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.BackendMessage.DataRow;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.ReadyForQuery;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrontendCodec;
import org.pwgate.proxy.protocol.FrontendMessage;
import org.pwgate.proxy.protocol.MalformedMessageException;
import org.pwgate.proxy.protocol.ProtocolViolation;
import org.pwgate.proxy.protocol.SqlState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pwgate's own client connection to the backend: auth_query lookups and the role bootstrap. It
 * logs in like a session (MD5 pass-the-hash or trust) and runs one query at a time with the
 * extended protocol (Parse, Bind with text parameters, Execute, Sync), queueing the rest. A lost
 * connection fails the query in flight; the next query connects again. Everything happens on one
 * event loop; {@link #query} may be called from any thread.
 *
 * <pre>
 *   idle --query--> [connect + login if needed] --> Parse/Bind/Execute/Sync --> rows... ReadyForQuery --> idle
 * </pre>
 */
public final class ServiceConnection implements SqlRunner, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ServiceConnection.class);

    private record Pending(String sql, List<String> params, CompletableFuture<List<List<Optional<String>>>> result) {}

    private final BackendConnector connector;
    private final EventLoop loop;
    private final String user;
    private final String database;
    private final Optional<String> storedMd5;
    private final Queue<Pending> queue = new ArrayDeque<>();
    private Channel channel;
    private boolean connecting;
    private Pending current;
    private List<List<Optional<String>>> rows;
    private ErrorResponse error;
    private boolean closed;

    /** {@code storedMd5}: the md5 hash ("md5" + 32 hex) that answers the backend's MD5 challenge. */
    public ServiceConnection(BackendConnector connector, EventLoop loop, String user, String database, Optional<String> storedMd5) {
        this.connector = connector;
        this.loop = loop;
        this.user = user;
        this.database = database;
        this.storedMd5 = storedMd5;
    }

    public String user() {
        return user;
    }

    @Override
    public CompletionStage<List<List<Optional<String>>>> query(String sql, List<String> params) {
        CompletableFuture<List<List<Optional<String>>>> result = new CompletableFuture<>();
        loop.execute(() -> {
            if (closed) {
                result.completeExceptionally(new ServiceQueryException(SqlState.CONNECTION_FAILURE, "the service connection is closed"));
                return;
            }
            queue.add(new Pending(sql, List.copyOf(params), result));
            pump();
        });
        return result;
    }

    private void pump() {
        if (current != null || connecting || queue.isEmpty()) {
            return;
        }
        if (channel == null || !channel.isActive()) {
            connect();
            return;
        }
        current = queue.poll();
        rows = new ArrayList<>();
        error = null;
        ByteBuf out = channel.alloc().buffer();
        FrontendCodec.encode(new FrontendMessage.Parse("", current.sql(), new int[0]), out);
        FrontendCodec.encode(new FrontendMessage.Bind("", "", current.params().stream().map(Optional::ofNullable).toList()), out);
        FrontendCodec.encode(new FrontendMessage.Execute("", 0), out);
        FrontendCodec.encode(new FrontendMessage.Sync(), out);
        channel.writeAndFlush(out);
    }

    private void connect() {
        connecting = true;
        Map<String, String> params = new LinkedHashMap<>();
        params.put("application_name", "pwgate");
        params.put("DateStyle", "ISO");
        params.put("TimeZone", "UTC");
        params.put("client_encoding", "UTF8");
        params.put("options", "-c password_encryption=md5");
        Future<BackendSession> f = connector.connect(loop, user, database, params, storedMd5);
        f.addListener(done -> {
            connecting = false;
            if (!f.isSuccess()) {
                // A login failure's message says what went wrong, the backend's own error included.
                String reason = f.cause() instanceof BackendLoginException e ? e.getMessage() : String.valueOf(f.cause());
                log.warn("service connection as \"{}\" failed: {}", user, reason);
                failAll(new ServiceQueryException(SqlState.CONNECTION_FAILURE,
                        "the service connection as \"" + user + "\" failed: " + reason));
                return;
            }
            BackendSession session = f.getNow();
            if (closed) {
                session.close();
                return;
            }
            session.takeEarlyFrames().forEach(Frame::release);
            channel = session.channel();
            channel.pipeline().replace(BackendConnector.LOGIN_HANDLER, "service", new Handler());
            pump();
        });
    }

    private void failAll(ServiceQueryException e) {
        Pending p;
        while ((p = queue.poll()) != null) {
            p.result().completeExceptionally(e);
        }
    }

    private void onMessage(BackendMessage m) {
        if (current == null) {
            return;
        }
        if (m instanceof DataRow row) {
            rows.add(row.values());
        } else if (m instanceof ErrorResponse e) {
            error = e;
        } else if (m instanceof ReadyForQuery) {
            Pending done = current;
            current = null;
            if (error != null) {
                done.result().completeExceptionally(new ServiceQueryException(error.sqlState(), error.message()));
            } else {
                done.result().complete(List.copyOf(rows));
            }
            rows = null;
            pump();
        }
    }

    private void onDisconnect() {
        channel = null;
        if (current != null) {
            Pending lost = current;
            current = null;
            lost.result().completeExceptionally(new ServiceQueryException(SqlState.CONNECTION_FAILURE,
                    "the service connection was lost during a query"));
        }
        pump();
    }

    @Override
    public void close() {
        loop.execute(() -> {
            closed = true;
            failAll(new ServiceQueryException(SqlState.CONNECTION_FAILURE, "the service connection is closed"));
            if (channel != null) {
                channel.close();
            }
        });
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Frame frame) {
                try {
                    onMessage(BackendCodec.decode(frame));
                } catch (MalformedMessageException e) {
                    log.warn("malformed message on the service connection: {}", e.getMessage());
                    ctx.close();
                } finally {
                    frame.release();
                }
            } else if (msg instanceof ProtocolViolation v) {
                log.warn("protocol violation on the service connection: {}", v.message());
                ctx.close();
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (ctx.channel() == channel) {
                onDisconnect();
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("service connection error: {}", cause.toString());
            ctx.close();
        }
    }
}
