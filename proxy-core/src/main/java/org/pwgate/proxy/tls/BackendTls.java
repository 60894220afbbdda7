package org.pwgate.proxy.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import org.pwgate.config.PwgateConfig;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS from pwgate to PostgreSQL, with libpq's meaning of each {@code backend.tls} mode:
 *
 * <pre>
 *   disable      never send an SSLRequest
 *   prefer       SSLRequest; 'S' -> TLS, 'N' -> plaintext; the server certificate is not checked
 *   require      SSLRequest; 'N' fails the connection; the chain is checked only when tls_ca is given
 *   verify-ca    require + the chain must lead to tls_ca
 *   verify-full  verify-ca + backend.host must match the certificate (SAN DNS/IP, as HTTPS checks it)
 * </pre>
 *
 * {@code require} with {@code tls_ca}: libpq verifies the chain under sslmode=require when a root
 * certificate file exists ("the same as verify-ca"); pwgate's CA is explicit in the config, and
 * an operator who names a CA means it to be checked, so pwgate does the same. Without tls_ca,
 * require encrypts but does not authenticate the server (as libpq without root.crt).
 *
 * <p>Use: the connector calls {@link #negotiate} right after the TCP connect, before it writes the
 * StartupMessage; the future says when the channel is ready (encrypted or, for prefer, plain).
 */
public final class BackendTls {
    private static final Logger log = LoggerFactory.getLogger(BackendTls.class);
    public static final String SSL_HANDLER_NAME = "tls";
    private static final String RESPONSE_HANDLER_NAME = "tlsResponse";

    private final BackendTlsMode mode;
    private final SslContext context;
    private final String host;

    private BackendTls(BackendTlsMode mode, SslContext context, String host) {
        this.mode = mode;
        this.context = context;
        this.host = host;
    }

    /**
     * The backend side of the config. {@code host} is the name the certificate must carry with
     * verify-full (backend.host, or the embedded backend's address).
     */
    public static BackendTls forConfig(PwgateConfig.Backend backend, String host, TlsProvider provider) throws TlsConfigException {
        return of(backend.tls(), backend.tlsCaFile(), host, provider);
    }

    /** No TLS to the backend, whatever the config says: {@code backend.tls: disable}. */
    public static BackendTls disabled() {
        return new BackendTls(BackendTlsMode.DISABLE, null, "");
    }

    public static BackendTls of(BackendTlsMode mode, Optional<Path> caFile, String host, TlsProvider provider)
            throws TlsConfigException {
        if (mode == BackendTlsMode.DISABLE) {
            return new BackendTls(mode, null, host);
        }
        boolean verifyChain = mode == BackendTlsMode.VERIFY_CA || mode == BackendTlsMode.VERIFY_FULL
                || (mode == BackendTlsMode.REQUIRE && caFile.isPresent());
        if (verifyChain && caFile.isEmpty()) {
            throw new TlsConfigException("backend.tls_ca is required with backend.tls " + ServerTls.name(mode));
        }
        SslContextBuilder builder = provider.apply(SslContextBuilder.forClient())
                // Netty 4.2 checks host names by default; only verify-full wants that (set per engine).
                .endpointIdentificationAlgorithm(null);
        if (verifyChain) {
            List<X509Certificate> cas = PemFiles.certificates("backend.tls_ca", caFile.get());
            builder.trustManager(cas);
        } else {
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
        }
        try {
            SslContext context = builder.build();
            log.info("backend TLS: {}{}, {}", ServerTls.name(mode),
                    verifyChain ? " (certificate checked against " + caFile.get() + ")" : " (certificate not checked)",
                    provider.description());
            return new BackendTls(mode, context, host);
        } catch (SSLException e) {
            throw new TlsConfigException("backend.tls: the client TLS context could not be built: " + e.getMessage(), e);
        }
    }

    public BackendTlsMode mode() {
        return mode;
    }

    /** Whether an SSLRequest is sent at all. */
    public boolean requestsTls() {
        return mode != BackendTlsMode.DISABLE;
    }

    /** Whether a backend answering 'N' fails the connection. */
    public boolean requiresTls() {
        return mode != BackendTlsMode.DISABLE && mode != BackendTlsMode.PREFER;
    }

    /** The client context, or null with {@code disable}. */
    public SslContext forBackend() {
        return context;
    }

    /**
     * A client-mode handler for one backend connection: SNI and the peer host set to
     * {@code host}; with verify-full the certificate must name it.
     */
    public SslHandler newHandler(ByteBufAllocator alloc, String peerHost, int port) {
        if (context == null) {
            throw new IllegalStateException("backend.tls is disable");
        }
        SslHandler handler = context.newHandler(alloc, peerHost, port);
        if (mode == BackendTlsMode.VERIFY_FULL) {
            SSLEngine engine = handler.engine();
            SSLParameters params = engine.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(params);
        }
        return handler;
    }

    /**
     * Runs the SSLRequest exchange on a freshly connected channel and, on 'S', puts an
     * SslHandler first in its pipeline. The future succeeds once the channel is ready for the
     * StartupMessage (after the TLS handshake, or at once with disable or a 'N' under prefer)
     * and fails with a {@link TlsConfigException}-style message otherwise; the caller closes.
     */
    public Future<Channel> negotiate(Channel channel, SocketAddress peer) {
        // The TCP port is a hint for TLS session reuse; a Unix-domain socket has none (and PostgreSQL
        // offers no TLS there).
        return negotiate(channel, peer instanceof InetSocketAddress inet ? inet.getPort() : -1);
    }

    /** As {@link #negotiate(Channel, SocketAddress)}, with the peer's TCP port (-1: none). */
    public Future<Channel> negotiate(Channel channel, int port) {
        Promise<Channel> promise = channel.eventLoop().newPromise();
        if (mode == BackendTlsMode.DISABLE) {
            return promise.setSuccess(channel);
        }
        channel.pipeline().addFirst(RESPONSE_HANDLER_NAME, new SslResponseHandler(promise, port));
        ByteBuf out = channel.alloc().buffer(8);
        StartupCodec.encode(new StartupRequest.SslRequest(), out);
        channel.writeAndFlush(out).addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(new BackendTlsException("sending the SSLRequest to the backend failed: " + f.cause()));
            }
        });
        return promise;
    }

    /** Why the backend connection could not be made secure; the message is fit for the log. */
    public static final class BackendTlsException extends Exception {
        private static final long serialVersionUID = 1L;

        public BackendTlsException(String message) {
            super(message);
        }

        public BackendTlsException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Reads the one-byte answer to the SSLRequest, then gets out of the way. */
    private final class SslResponseHandler extends ChannelInboundHandlerAdapter {
        private final Promise<Channel> promise;
        private final int port;

        SslResponseHandler(Promise<Channel> promise, int port) {
            this.promise = promise;
            this.port = port;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (promise.isDone() || !(msg instanceof ByteBuf in)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            try {
                byte answer = in.readByte();
                // Anything after the answer arrived unencrypted: a man in the middle could have
                // put it there (CVE-2021-23222). libpq refuses it too.
                if (in.isReadable()) {
                    promise.tryFailure(new BackendTlsException("the backend sent unexpected data after its answer to the SSLRequest"));
                    return;
                }
                ctx.pipeline().remove(this);
                if (answer == 'S') {
                    SslHandler ssl = newHandler(ctx.alloc(), host, port);
                    ctx.pipeline().addFirst(SSL_HANDLER_NAME, ssl);
                    ssl.handshakeFuture().addListener(f -> {
                        if (f.isSuccess()) {
                            promise.trySuccess(ctx.channel());
                        } else {
                            promise.tryFailure(new BackendTlsException("TLS handshake with the backend failed ("
                                    + "backend.tls " + ServerTls.name(mode) + "): " + rootMessage(f.cause()), f.cause()));
                        }
                    });
                } else if (answer == 'N' && !requiresTls()) {
                    promise.trySuccess(ctx.channel());
                } else if (answer == 'N') {
                    promise.tryFailure(new BackendTlsException("the backend does not accept TLS connections, and backend.tls is "
                            + ServerTls.name(mode) + " (set ssl = on in its postgresql.conf, or lower backend.tls)"));
                } else {
                    promise.tryFailure(new BackendTlsException("the backend answered the SSLRequest with an unexpected byte 0x"
                            + Integer.toHexString(answer & 0xff)));
                }
            } finally {
                in.release();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            promise.tryFailure(new BackendTlsException("the backend closed the connection during the SSLRequest"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            promise.tryFailure(new BackendTlsException("backend connection error during the SSLRequest: " + cause, cause));
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
