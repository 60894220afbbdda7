package org.pwgate.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.config.PwgateConfig.Tls;

/** BackendTls against a stand-in PostgreSQL on loopback that answers the SSLRequest like the real one. */
class BackendTlsTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TestPki otherPki;
    static Loopback loopback;
    /** Answers 'S' and speaks TLS with a certificate for 127.0.0.1 and localhost, then echoes. */
    static Channel tlsBackend;
    /** Answers 'N' (ssl = off), then echoes. */
    static Channel plainBackend;

    @BeforeAll
    static void setUp() throws Exception {
        pki = TestPki.create(dir.resolve("ca"), "backend CA");
        otherPki = TestPki.create(dir.resolve("other"), "unrelated CA");
        TestPki.Issued server = pki.server("backend");
        ServerTls tls = ServerTls.load(new Tls(ClientTlsMode.ALLOW, Optional.of(server.cert()), Optional.of(server.key()),
                Optional.empty(), ClientCertVerify.NONE), TlsProvider.detect());
        loopback = new Loopback();
        tlsBackend = loopback.server(ch -> ch.pipeline().addLast(new TlsNegotiationHandler(Optional.of(tls), "b"), new Loopback.Echo()));
        plainBackend = loopback.server(ch -> ch.pipeline().addLast(new TlsNegotiationHandler(Optional.empty(), "b"), new Loopback.Echo()));
    }

    @AfterAll
    static void tearDown() throws Exception {
        tlsBackend.close().sync();
        plainBackend.close().sync();
        loopback.close();
    }

    record Outcome(Channel channel, Future<Channel> ready) {
        boolean succeeded() throws InterruptedException {
            return ready.await(10, TimeUnit.SECONDS) && ready.isSuccess();
        }

        String failure() throws InterruptedException {
            ready.await(10, TimeUnit.SECONDS);
            return ready.cause() == null ? "(succeeded)" : ready.cause().getMessage();
        }

        /** Sends text and returns the echo, proving the channel carries data after negotiation. */
        String roundTrip(String text) throws InterruptedException {
            Loopback.Collector collector = new Loopback.Collector();
            channel.pipeline().addLast(collector);
            channel.writeAndFlush(channel.alloc().buffer().writeBytes(text.getBytes(java.nio.charset.StandardCharsets.UTF_8))).sync();
            return collector.take();
        }
    }

    Outcome negotiate(BackendTls tls, Channel backend) throws InterruptedException {
        int port = Loopback.port(backend);
        Channel ch = loopback.connect(port, c -> c.pipeline().addLast(new Loopback.CloseOnError()));
        Future<Channel> ready = tls.negotiate(ch, port);
        return new Outcome(ch, ready);
    }

    static BackendTls tls(BackendTlsMode mode, Optional<Path> ca, String host) throws TlsConfigException {
        return BackendTls.of(mode, ca, host, TlsProvider.detect());
    }

    @Test
    void verifyFullAcceptsTheRightCertificateForTheHost() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.VERIFY_FULL, Optional.of(pki.caCert()), "127.0.0.1"), tlsBackend);
        assertTrue(o.succeeded(), o.failure());
        assertTrue(o.channel().pipeline().first() instanceof SslHandler);
        assertEquals("select 1", o.roundTrip("select 1"));
        o.channel().close().sync();
    }

    @Test
    void verifyFullAcceptsTheDnsNameToo() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.VERIFY_FULL, Optional.of(pki.caCert()), "localhost"), tlsBackend);
        assertTrue(o.succeeded(), o.failure());
        o.channel().close().sync();
    }

    @Test
    void verifyFullRefusesACertificateForAnotherHost() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.VERIFY_FULL, Optional.of(pki.caCert()), "db.example.org"), tlsBackend);
        assertFalse(o.succeeded());
        assertTrue(o.failure().contains("verify-full"), o.failure());
        o.channel().close().sync();
    }

    @Test
    void verifyCaDoesNotCheckTheHostName() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.VERIFY_CA, Optional.of(pki.caCert()), "db.example.org"), tlsBackend);
        assertTrue(o.succeeded(), o.failure());
        o.channel().close().sync();
    }

    @Test
    void verifyCaRefusesACertificateFromAnotherCa() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.VERIFY_CA, Optional.of(otherPki.caCert()), "127.0.0.1"), tlsBackend);
        assertFalse(o.succeeded());
        o.channel().close().sync();
    }

    @Test
    void requireWithoutCaEncryptsWithoutCheckingAndWithCaChecksTheChain() throws Exception {
        Outcome unchecked = negotiate(tls(BackendTlsMode.REQUIRE, Optional.empty(), "db.example.org"), tlsBackend);
        assertTrue(unchecked.succeeded(), unchecked.failure());
        assertTrue(unchecked.channel().pipeline().first() instanceof SslHandler);
        unchecked.channel().close().sync();
        Outcome checked = negotiate(tls(BackendTlsMode.REQUIRE, Optional.of(otherPki.caCert()), "127.0.0.1"), tlsBackend);
        assertFalse(checked.succeeded());
        checked.channel().close().sync();
    }

    @Test
    void requireFailsWhenTheBackendAnswersN() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.REQUIRE, Optional.empty(), "127.0.0.1"), plainBackend);
        assertFalse(o.succeeded());
        assertTrue(o.failure().contains("does not accept TLS"), o.failure());
        o.channel().close().sync();
    }

    @Test
    void preferFallsBackToPlaintextOnN() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.PREFER, Optional.empty(), "127.0.0.1"), plainBackend);
        assertTrue(o.succeeded(), o.failure());
        assertNull(o.channel().pipeline().get(SslHandler.class));
        assertEquals("plaintext startup packet", o.roundTrip("plaintext startup packet"));
        o.channel().close().sync();
    }

    @Test
    void preferUsesTlsOnSWithoutChecking() throws Exception {
        Outcome o = negotiate(tls(BackendTlsMode.PREFER, Optional.empty(), "db.example.org"), tlsBackend);
        assertTrue(o.succeeded(), o.failure());
        assertTrue(o.channel().pipeline().first() instanceof SslHandler);
        o.channel().close().sync();
    }

    @Test
    void disableSendsNothing() throws Exception {
        BackendTls tls = tls(BackendTlsMode.DISABLE, Optional.empty(), "127.0.0.1");
        assertFalse(tls.requestsTls());
        Outcome o = negotiate(tls, tlsBackend);
        assertTrue(o.succeeded());
        assertNull(o.channel().pipeline().get(SslHandler.class));
        o.channel().close().sync();
    }

    @Test
    void verifyModesNeedACaFile() {
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> tls(BackendTlsMode.VERIFY_FULL, Optional.empty(), "127.0.0.1"));
        assertTrue(e.getMessage().contains("backend.tls_ca"), e.getMessage());
        Path missing = dir.resolve("missing-ca.crt");
        TlsConfigException e2 = assertThrows(TlsConfigException.class,
                () -> tls(BackendTlsMode.VERIFY_CA, Optional.of(missing), "127.0.0.1"));
        assertTrue(e2.getMessage().contains(missing.toString()), e2.getMessage());
    }
}
