package org.pwgate.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.config.PwgateConfig.Tls;

class TlsNegotiationHandlerTest {
    private static final byte[] SSL_REQUEST = HexFormat.of().parseHex("0000000804d2162f");
    private static final byte[] GSSENC_REQUEST = HexFormat.of().parseHex("0000000804d21630");
    private static final byte[] CANCEL_REQUEST = HexFormat.of().parseHex("0000001004d2162e0000303900abcdef");
    /** StartupMessage 3.0 {user=app, database=postgres}. */
    private static final byte[] STARTUP = startup("user", "app", "database", "postgres");

    @TempDir
    static Path dir;
    static TestPki pki;
    static ServerTls allow;
    static ServerTls require;
    static Loopback loopback;

    @BeforeAll
    static void setUp() throws Exception {
        pki = TestPki.create(dir.resolve("ca"), "negotiation CA");
        TestPki.Issued server = pki.server("server");
        allow = ServerTls.load(new Tls(ClientTlsMode.ALLOW, Optional.of(server.cert()), Optional.of(server.key()),
                Optional.empty(), ClientCertVerify.NONE), TlsProvider.detect());
        require = ServerTls.load(new Tls(ClientTlsMode.REQUIRE, Optional.of(server.cert()), Optional.of(server.key()),
                Optional.empty(), ClientCertVerify.NONE), TlsProvider.detect());
        loopback = new Loopback();
    }

    @AfterAll
    static void tearDown() {
        loopback.close();
    }

    static byte[] startup(String... params) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(new byte[] {0, 3, 0, 0});
        for (String p : params) {
            body.writeBytes(p.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        body.write(0);
        byte[] b = body.toByteArray();
        ByteBuf out = Unpooled.buffer().writeInt(b.length + 4).writeBytes(b);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }

    static EmbeddedChannel channel(Optional<ServerTls> tls) {
        return new EmbeddedChannel(new TlsNegotiationHandler(tls, "c1"));
    }

    static byte[] readOutbound(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    static byte[] readInbound(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = ch.readInbound()) != null; ) {
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    static ByteBuf bytes(byte[]... parts) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b;
    }

    /** ErrorResponse as PostgreSQL writes it: S, V, C, M, terminator. */
    static byte[] errorResponse(String sqlState, String message) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (String f : new String[] {"SFATAL", "VFATAL", "C" + sqlState, "M" + message}) {
            body.writeBytes(f.getBytes(StandardCharsets.UTF_8));
            body.write(0);
        }
        body.write(0);
        byte[] b = body.toByteArray();
        ByteBuf out = Unpooled.buffer().writeByte('E').writeInt(b.length + 4).writeBytes(b);
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return bytes;
    }

    @Test
    void sslRequestIsAnsweredSAndAnSslHandlerTakesTheHandlersPlace() {
        EmbeddedChannel ch = channel(Optional.of(allow));
        assertFalse(ch.writeInbound(bytes(SSL_REQUEST)));
        assertEquals("S", new String(readOutbound(ch), StandardCharsets.US_ASCII));
        assertTrue(ch.pipeline().first() instanceof SslHandler);
        assertNotNull(ch.pipeline().get(TlsNegotiationHandler.SSL_HANDLER_NAME));
        assertNull(ch.pipeline().get(TlsNegotiationHandler.class));
        assertTrue(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @Test
    void withTlsDisabledSslRequestGetsNAndTheStartupMessageFollowsUntouched() {
        EmbeddedChannel ch = channel(Optional.empty());
        ch.writeInbound(bytes(SSL_REQUEST));
        assertEquals("N", new String(readOutbound(ch), StandardCharsets.US_ASCII));
        assertNotNull(ch.pipeline().get(TlsNegotiationHandler.class));
        // Split across reads on purpose: the handler must wait for the 8 bytes it needs.
        ch.writeInbound(bytes(Arrays.copyOfRange(STARTUP, 0, 3)));
        ch.writeInbound(bytes(Arrays.copyOfRange(STARTUP, 3, STARTUP.length)));
        assertArrayEquals(STARTUP, readInbound(ch));
        assertNull(ch.pipeline().get(TlsNegotiationHandler.class));
        assertNull(ch.pipeline().get(SslHandler.class));
        ch.finishAndReleaseAll();
    }

    @Test
    void gssEncRequestGetsNThenSslRequestGetsS() {
        EmbeddedChannel ch = channel(Optional.of(allow));
        ch.writeInbound(bytes(GSSENC_REQUEST));
        assertEquals("N", new String(readOutbound(ch), StandardCharsets.US_ASCII));
        ch.writeInbound(bytes(SSL_REQUEST));
        assertEquals("S", new String(readOutbound(ch), StandardCharsets.US_ASCII));
        assertTrue(ch.pipeline().first() instanceof SslHandler);
        ch.finishAndReleaseAll();
    }

    @Test
    void allowModePassesAPlaintextStartupMessageOnByteForByte() {
        EmbeddedChannel ch = channel(Optional.of(allow));
        ch.writeInbound(bytes(STARTUP, new byte[] {'p', 0, 0, 0, 4}));
        assertArrayEquals(concat(STARTUP, new byte[] {'p', 0, 0, 0, 4}), readInbound(ch));
        assertEquals(0, readOutbound(ch).length);
        assertNull(ch.pipeline().get(TlsNegotiationHandler.class));
        ch.finishAndReleaseAll();
    }

    @Test
    void requireModeRefusesAPlaintextStartupMessageWith28000BeforeAnyPassword() {
        EmbeddedChannel ch = channel(Optional.of(require));
        ch.writeInbound(bytes(STARTUP));
        assertArrayEquals(errorResponse("28000", TlsNegotiationHandler.TLS_REQUIRED_MESSAGE), readOutbound(ch));
        assertEquals(0, readInbound(ch).length, "the startup handler must never see the packet");
        assertFalse(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @Test
    void requireModeRefusesAfterGssEncRequestToo() {
        EmbeddedChannel ch = channel(Optional.of(require));
        ch.writeInbound(bytes(GSSENC_REQUEST));
        assertEquals("N", new String(readOutbound(ch), StandardCharsets.US_ASCII));
        ch.writeInbound(bytes(STARTUP));
        assertArrayEquals(errorResponse("28000", TlsNegotiationHandler.TLS_REQUIRED_MESSAGE), readOutbound(ch));
        assertFalse(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @Test
    void requireModeLetsACancelRequestThrough() {
        EmbeddedChannel ch = channel(Optional.of(require));
        ch.writeInbound(bytes(CANCEL_REQUEST));
        assertArrayEquals(CANCEL_REQUEST, readInbound(ch));
        assertTrue(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @Test
    void requireModeLeavesGarbageToTheStartupHandler() {
        EmbeddedChannel ch = channel(Optional.of(require));
        byte[] garbage = HexFormat.of().parseHex("0000000900020000ff");
        ch.writeInbound(bytes(garbage));
        assertArrayEquals(garbage, readInbound(ch));
        ch.finishAndReleaseAll();
    }

    @Test
    void plaintextSmuggledBehindAnSslRequestIsRefused() {
        EmbeddedChannel ch = channel(Optional.of(allow));
        ch.writeInbound(bytes(SSL_REQUEST, STARTUP));
        assertArrayEquals(errorResponse("08P01", "received unencrypted data after SSLRequest"), readOutbound(ch));
        assertEquals(0, readInbound(ch).length);
        assertFalse(ch.isOpen());
        ch.finishAndReleaseAll();
    }

    @Test
    void directTlsWithTlsDisabledIsClosed() {
        EmbeddedChannel ch = channel(Optional.empty());
        ch.writeInbound(bytes(HexFormat.of().parseHex("160301020001")));
        assertFalse(ch.isOpen());
        assertEquals(0, readInbound(ch).length);
        ch.finishAndReleaseAll();
    }

    @Test
    void directTlsInstallsTheSslHandlerAndTheAlpnGuard() {
        EmbeddedChannel ch = channel(Optional.of(allow));
        // Only the record header: the SslHandler waits for the rest of the ClientHello.
        ch.writeInbound(bytes(HexFormat.of().parseHex("1603010200")));
        assertTrue(ch.pipeline().first() instanceof SslHandler);
        assertNotNull(ch.pipeline().get(TlsNegotiationHandler.ALPN_GUARD_NAME));
        assertNull(ch.pipeline().get(TlsNegotiationHandler.class));
        ch.finishAndReleaseAll();
    }

    // --- real handshakes on loopback ---

    /** The application side: echoes what the frame decoder would get (the decrypted StartupMessage). */
    Channel server(ServerTls tls) throws InterruptedException {
        return loopback.server(ch -> ch.pipeline().addLast(new TlsNegotiationHandler(Optional.of(tls), "c"), new Loopback.Echo()));
    }

    static SslContext client(boolean alpn) throws Exception {
        var b = Loopback.clientTrusting(pki.caCert());
        if (alpn) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ServerTls.ALPN_POSTGRESQL));
        }
        return b.build();
    }

    @Test
    void directTlsWithAlpnPostgresqlCarriesTheStartupMessage() throws Exception {
        Channel s = server(require);
        try {
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), client(true));
            assertTrue(c.handshake(), () -> String.valueOf(c.ssl().handshakeFuture().cause()));
            assertEquals(ServerTls.ALPN_POSTGRESQL, c.ssl().applicationProtocol());
            assertEquals(new String(STARTUP, StandardCharsets.ISO_8859_1), sendBytes(c, STARTUP));
            c.channel().close().sync();
        } finally {
            s.close().sync();
        }
    }

    @Test
    void directTlsWithoutAlpnIsClosedBeforeAnyByteIsPassedOn() throws Exception {
        Channel s = server(require);
        try {
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), client(false));
            if (c.handshake()) {
                c.channel().writeAndFlush(Unpooled.wrappedBuffer(STARTUP));
            }
            assertTrue(c.channel().closeFuture().await(10, TimeUnit.SECONDS));
            assertTrue(c.received().reads.isEmpty(), "the server passed on bytes of a connection without ALPN");
        } finally {
            s.close().sync();
        }
    }

    @Test
    void sslRequestThenHandshakeCarriesTheStartupMessage() throws Exception {
        Channel s = server(require);
        try {
            Loopback.Collector plain = new Loopback.Collector();
            Channel ch = loopback.connect(Loopback.port(s), c -> c.pipeline().addLast(plain));
            ch.writeAndFlush(Unpooled.wrappedBuffer(SSL_REQUEST)).sync();
            assertEquals("S", plain.take());
            SslHandler ssl = client(false).newHandler(ch.alloc(), "127.0.0.1", Loopback.port(s));
            ch.pipeline().addFirst(ssl);
            assertTrue(ssl.handshakeFuture().await(10, TimeUnit.SECONDS) && ssl.handshakeFuture().isSuccess(),
                    () -> String.valueOf(ssl.handshakeFuture().cause()));
            ch.writeAndFlush(Unpooled.wrappedBuffer(STARTUP)).sync();
            assertEquals(new String(STARTUP, StandardCharsets.ISO_8859_1), readAtLeast(plain, STARTUP.length));
            ch.close().sync();
        } finally {
            s.close().sync();
        }
    }

    private static String sendBytes(Loopback.TlsClient c, byte[] data) throws InterruptedException {
        c.channel().writeAndFlush(Unpooled.wrappedBuffer(data)).sync();
        return readAtLeast(c.received(), data.length);
    }

    private static String readAtLeast(Loopback.Collector collector, int n) throws InterruptedException {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < n) {
            sb.append(collector.take());
        }
        return sb.toString();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void assertArrayEquals(byte[] expected, byte[] actual) {
        org.junit.jupiter.api.Assertions.assertEquals(HexFormat.of().formatHex(expected), HexFormat.of().formatHex(actual));
    }
}
