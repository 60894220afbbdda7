package org.pwgate.proxy.tls;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.Optional;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.SqlState;
import org.pwgate.proxy.protocol.StartupRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of a client pipeline: decides, from the first bytes, whether the connection
 * is encrypted, then gets out of the way. It sits in front of the frame decoder and never passes
 * on a byte it consumed.
 *
 * <pre>
 *   first byte 0x16 (TLS ClientHello: PostgreSQL 17 direct TLS) --> SslHandler + ALPN "postgresql" check, done
 *   SSLRequest     --> 'S', SslHandler, done         (mode disable: 'N', keep looking)
 *   GSSENCRequest  --> 'N', keep looking             (libpq may try GSS first, then SSL)
 *   CancelRequest  --> pass on untouched, done       (not subject to TLS, as in PostgreSQL)
 *   StartupMessage --> pass on untouched, done       (mode require: FATAL 28000, close: no password is ever asked)
 *   anything else  --> pass on untouched, done       (the startup handler answers protocol errors)
 * </pre>
 *
 * Bytes a client sends after an SSLRequest or GSSENCRequest before reading the answer would be
 * plaintext smuggled in front of the encrypted stream (CVE-2021-23214): refused, as PostgreSQL does.
 */
public final class TlsNegotiationHandler extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(TlsNegotiationHandler.class);
    /** A TLS record of type handshake starts with this byte; no startup packet length does (it would exceed 10000). */
    static final int TLS_HANDSHAKE_RECORD = 0x16;
    public static final String SSL_HANDLER_NAME = "tls";
    static final String ALPN_GUARD_NAME = "tlsAlpnGuard";
    public static final String TLS_REQUIRED_MESSAGE =
            "TLS is required: pwgate refuses unencrypted connections (connect with sslmode=require or stronger)";

    private final ClientTlsMode mode;
    private final ServerTls tls;
    private final String connId;
    private boolean firstByte = true;
    private boolean sslAnswered;
    private boolean gssAnswered;
    private boolean done;

    /**
     * @param tls     the server context; empty means {@code tls.mode: disable}
     * @param connId  the connection id for log lines
     */
    public TlsNegotiationHandler(Optional<ServerTls> tls, String connId) {
        this.tls = tls.orElse(null);
        this.mode = tls.map(ServerTls::mode).orElse(ClientTlsMode.DISABLE);
        this.connId = connId;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!done && in.isReadable()) {
            if (!step(ctx, in)) {
                return;
            }
        }
    }

    /** Handles one request if enough bytes are there; false when more bytes are needed. */
    private boolean step(ChannelHandlerContext ctx, ByteBuf in) {
        int at = in.readerIndex();
        if (firstByte && (in.getByte(at) & 0xff) == TLS_HANDSHAKE_RECORD) {
            firstByte = false;
            onDirectTls(ctx);
            return true;
        }
        firstByte = false;
        if (in.readableBytes() < 8) {
            return false;
        }
        int length = in.getInt(at);
        int code = in.getInt(at + 4);
        if (length == 8 && code == StartupRequest.SSL_REQUEST_CODE && !sslAnswered) {
            in.skipBytes(8);
            sslAnswered = true;
            onSslRequest(ctx, in);
            return true;
        }
        if (length == 8 && code == StartupRequest.GSSENC_REQUEST_CODE && !gssAnswered) {
            in.skipBytes(8);
            gssAnswered = true;
            // pwgate has no GSSAPI: 'N', and the client goes on with an SSLRequest or a StartupMessage.
            if (in.isReadable()) {
                refuseSmuggled(ctx, "GSSENCRequest");
                return true;
            }
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('N'));
            return true;
        }
        if (mode == ClientTlsMode.REQUIRE && code >>> 16 == 3) {
            refusePlaintext(ctx);
            return true;
        }
        passOn(ctx);
        return true;
    }

    private void onSslRequest(ChannelHandlerContext ctx, ByteBuf in) {
        if (in.isReadable()) {
            refuseSmuggled(ctx, "SSLRequest");
            return;
        }
        if (tls == null) {
            ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('N'));
            return;
        }
        // The 'S' leaves through the handlers in front of this one, so it goes out in clear;
        // the SslHandler takes this handler's place and sees the ClientHello that follows.
        ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte('S'));
        ctx.pipeline().addAfter(ctx.name(), SSL_HANDLER_NAME, tls.newHandler(ctx.alloc()));
        finish(ctx);
    }

    private void onDirectTls(ChannelHandlerContext ctx) {
        if (tls == null) {
            log.info("{}: direct TLS connection refused: tls.mode is disable", connId);
            done = true;
            ctx.close();
            return;
        }
        ctx.pipeline().addAfter(ctx.name(), SSL_HANDLER_NAME, tls.newHandler(ctx.alloc()));
        ctx.pipeline().addAfter(SSL_HANDLER_NAME, ALPN_GUARD_NAME, new AlpnGuard(connId));
        finish(ctx);
    }

    private void refusePlaintext(ChannelHandlerContext ctx) {
        done = true;
        log.info("{}: unencrypted connection refused: tls.mode is require", connId);
        ctx.writeAndFlush(BackendCodec.encode(
                        ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, TLS_REQUIRED_MESSAGE), ctx.alloc()))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void refuseSmuggled(ChannelHandlerContext ctx, String request) {
        done = true;
        log.info("{}: unencrypted data after {}, connection refused", connId, request);
        ctx.writeAndFlush(BackendCodec.encode(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                        "received unencrypted data after " + request), ctx.alloc()))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void passOn(ChannelHandlerContext ctx) {
        finish(ctx);
    }

    /** Removes this handler; ByteToMessageDecoder hands the bytes not consumed to the next handler. */
    private void finish(ChannelHandlerContext ctx) {
        done = true;
        ctx.pipeline().remove(this);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        done = true;
    }

    /**
     * After a direct TLS handshake: PostgreSQL 17 accepts a connection that skipped the SSLRequest
     * only if ALPN chose "postgresql" (so that a TLS connection meant for another protocol cannot
     * be replayed at it). Holds nothing: it decides on the handshake event, which comes before
     * any decrypted byte, then removes itself or closes.
     */
    static final class AlpnGuard extends ChannelInboundHandlerAdapter {
        private final String connId;
        private boolean refused;

        AlpnGuard(String connId) {
            this.connId = connId;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
                SslHandler ssl = ctx.pipeline().get(SslHandler.class);
                String protocol = ssl == null ? null : ssl.applicationProtocol();
                if (!ServerTls.ALPN_POSTGRESQL.equals(protocol)) {
                    refused = true;
                    log.info("{}: direct TLS connection without ALPN \"postgresql\" refused", connId);
                    ctx.close();
                    return;
                }
                ctx.pipeline().remove(this);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (refused) {
                ReferenceCountUtil.release(msg);
                return;
            }
            // Decrypted bytes before the handshake event cannot happen; fail closed if they do.
            ReferenceCountUtil.release(msg);
            refused = true;
            ctx.close();
        }
    }
}
