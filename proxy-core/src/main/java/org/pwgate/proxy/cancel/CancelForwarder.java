package org.pwgate.proxy.cancel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.time.Duration;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest.CancelRequest;

/**
 * Sends a CancelRequest with the backend's real key, from a fresh connection, as the protocol
 * wants; the backend answers nothing and closes. Completes when the request has been written.
 */
public final class CancelForwarder {
    private final Transport transport;
    private final Duration connectTimeout;

    public CancelForwarder(Transport transport, Duration connectTimeout) {
        this.transport = transport;
        this.connectTimeout = connectTimeout;
    }

    public Future<Void> forward(EventLoop loop, CancelRegistry.Target target) {
        Promise<Void> done = loop.newPromise();
        transport.clientBootstrap(loop, connectTimeout, target.backend())
                .handler(new ChannelInboundHandlerAdapter())
                .connect(target.backend())
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        done.tryFailure(f.cause());
                        return;
                    }
                    ByteBuf out = f.channel().alloc().buffer(16);
                    StartupCodec.encode(new CancelRequest(target.backendKey().processId(), target.backendKey().secretKey()), out);
                    f.channel().writeAndFlush(out).addListener((ChannelFutureListener) w -> {
                        if (w.isSuccess()) {
                            done.trySuccess(null);
                        } else {
                            done.tryFailure(w.cause());
                        }
                        w.channel().close();
                    });
                });
        return done;
    }
}
