package org.pwgate.proxy.cancel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest.CancelRequest;
import org.pwgate.proxy.tls.BackendTls;

/**
 * Sends a CancelRequest with the backend's real key, from a fresh connection, as the protocol
 * wants; the backend answers nothing and closes. Completes when the backend has closed the
 * connection after the request was written: PostgreSQL closes it once it has signalled the
 * backend process, which is what a client waits for before it goes on (see {@link Cancel}).
 *
 * <p>The connection is secured as a session's is ({@code backend.tls}): the key cancels any
 * query of that backend process, so with {@code require} or stricter it does not cross the
 * network in plaintext, and a backend that will not do TLS gets no cancel. PostgreSQL reads a
 * CancelRequest after the TLS handshake as it reads one in plaintext (libpq 17 sends it that way).
 * {@code connect_timeout} bounds the whole exchange, handshake included.
 */
public final class CancelForwarder {
    private final Transport transport;
    private final Duration connectTimeout;
    private final BackendTls tls;

    public CancelForwarder(Transport transport, Duration connectTimeout, BackendTls tls) {
        this.transport = transport;
        this.connectTimeout = connectTimeout;
        this.tls = tls;
    }

    public Future<Void> forward(EventLoop loop, CancelRegistry.Target target) {
        Promise<Void> done = loop.newPromise();
        ChannelFuture connect = transport.clientBootstrap(loop, connectTimeout, target.backend())
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.backend());
        ScheduledFuture<?> timeout = loop.schedule(() -> done.tryFailure(new TimeoutException(
                "the backend did not take the cancel request and close within " + connectTimeout.toMillis() + " ms")),
                connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
        done.addListener(f -> {
            timeout.cancel(false);
            if (!f.isSuccess()) {
                connect.channel().close();
            }
        });
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                done.tryFailure(f.cause());
                return;
            }
            tls.negotiate(f.channel(), target.backend()).addListener(t -> {
                if (!t.isSuccess()) {
                    done.tryFailure(t.cause());
                } else if (!done.isDone()) {
                    send(f.channel(), target, done);
                }
            });
        });
        return done;
    }

    private static void send(Channel channel, CancelRegistry.Target target, Promise<Void> done) {
        ByteBuf out = channel.alloc().buffer(16);
        StartupCodec.encode(new CancelRequest(target.backendKey().processId(), target.backendKey().secretKey()), out);
        channel.writeAndFlush(out).addListener((ChannelFutureListener) w -> {
            if (w.isSuccess()) {
                // Nothing is read: whatever the backend sends is dropped with the connection.
                channel.closeFuture().addListener(c -> done.trySuccess(null));
            } else {
                done.tryFailure(w.cause());
                w.channel().close();
            }
        });
    }
}
