package org.pwgate.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.pwgate.config.PwgateConfig.ClientCertVerify;
import org.pwgate.config.PwgateConfig.ClientTlsMode;
import org.pwgate.config.PwgateConfig.Tls;

class ServerTlsTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TestPki otherPki;
    static TestPki.Issued server;
    static Loopback loopback;

    @BeforeAll
    static void pki() throws Exception {
        pki = TestPki.create(dir.resolve("ca"), "pwgate test CA");
        otherPki = TestPki.create(dir.resolve("other"), "another CA");
        server = pki.server("server");
        loopback = new Loopback();
    }

    @AfterAll
    static void stop() {
        loopback.close();
    }

    static List<TlsProvider> providers() {
        List<TlsProvider> list = new ArrayList<>();
        list.add(TlsProvider.jdk());
        if (OpenSsl.isAvailable()) {
            list.add(TlsProvider.openSsl());
        }
        return list;
    }

    static Tls tls(Path cert, Path key) {
        return new Tls(ClientTlsMode.REQUIRE, Optional.of(cert), Optional.of(key), Optional.empty(), ClientCertVerify.NONE);
    }

    /** A server that wraps each connection in the ServerTls context current at accept time and echoes. */
    Channel echoServer(ServerTls tls) throws InterruptedException {
        return loopback.server(ch -> ch.pipeline().addLast(tls.newHandler(ch.alloc()), new Loopback.Echo()));
    }

    @Test
    void openSslIsAvailableHereAndChosen() {
        // The shipped jar carries BoringSSL for linux-x86_64; if it stops loading, pwgate silently
        // falls back to the JDK, which this test makes visible.
        assertTrue(OpenSsl.isAvailable(), () -> "netty-tcnative did not load: " + OpenSsl.unavailabilityCause());
        assertEquals(SslProvider.OPENSSL, TlsProvider.detect().sslProvider());
    }

    @ParameterizedTest
    @MethodSource("providers")
    void handshakesWithTls13AndTls12(TlsProvider provider) throws Exception {
        ServerTls tls = ServerTls.load(tls(server.cert(), server.key()), provider);
        Channel s = echoServer(tls);
        try {
            for (String version : List.of("TLSv1.3", "TLSv1.2")) {
                SslContext client = Loopback.clientTrusting(pki.caCert()).protocols(version).build();
                Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), client);
                assertTrue(c.handshake(), () -> version + ": " + c.ssl().handshakeFuture().cause());
                assertEquals(version, c.ssl().engine().getSession().getProtocol());
                String suite = c.ssl().engine().getSession().getCipherSuite();
                assertTrue(TlsProvider.CIPHER_SUITES.contains(suite), suite);
                assertEquals("ping", c.send("ping"));
                c.channel().close().sync();
            }
        } finally {
            s.close().sync();
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void offersOnlyTls12And13WithEcdheAeadSuites(TlsProvider provider) throws Exception {
        ServerTls tls = ServerTls.load(tls(server.cert(), server.key()), provider);
        SSLEngine engine = tls.context().newEngine(ByteBufAllocator.DEFAULT);
        try {
            Set<String> enabled = new java.util.HashSet<>(Set.of(engine.getEnabledProtocols()));
            // Netty's OpenSSL engine lists the SSLv2-format ClientHello as a pseudo-protocol; it enables no SSL version.
            enabled.remove("SSLv2Hello");
            assertEquals(Set.of("TLSv1.2", "TLSv1.3"), enabled);
            for (String suite : engine.getEnabledCipherSuites()) {
                boolean tls13 = suite.startsWith("TLS_AES_") || suite.startsWith("TLS_CHACHA20_");
                boolean ecdheAead = suite.startsWith("TLS_ECDHE_") && (suite.contains("_GCM_") || suite.contains("CHACHA20_POLY1305"));
                assertTrue(tls13 || ecdheAead, suite);
            }
        } finally {
            io.netty.util.ReferenceCountUtil.release(engine);
        }
    }

    @Test
    void refusesAClientThatOffersOnlyTls11() throws Exception {
        ServerTls tls = ServerTls.load(tls(server.cert(), server.key()), TlsProvider.detect());
        Channel s = echoServer(tls);
        try {
            // BoringSSL still speaks TLS 1.1 as a client (the JDK disables it), so the refusal is the server's.
            SslProvider clientProvider = OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
            SslContext client = Loopback.clientTrusting(pki.caCert()).sslProvider(clientProvider)
                    .protocols("TLSv1.1").ciphers(List.of("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA")).build();
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), client);
            assertFalse(c.handshake());
            // And the same client offering TLS 1.2 gets in, so the refusal above is about the version.
            SslContext ok = Loopback.clientTrusting(pki.caCert()).sslProvider(clientProvider).protocols("TLSv1.2").build();
            Loopback.TlsClient c2 = loopback.tlsClient(Loopback.port(s), ok);
            assertTrue(c2.handshake(), () -> String.valueOf(c2.ssl().handshakeFuture().cause()));
            c2.channel().close().sync();
        } finally {
            s.close().sync();
        }
    }

    @Test
    void readsPkcs1RsaAndSec1EcKeys() throws Exception {
        for (TestPki.KeyKind kind : List.of(TestPki.KeyKind.RSA_PKCS1, TestPki.KeyKind.EC_SEC1)) {
            TestPki.Issued issued = pki.server("kind-" + kind, kind, Instant.now().minusSeconds(3600), Instant.now().plusSeconds(86400));
            assertTrue(Files.readString(issued.key()).contains(kind == TestPki.KeyKind.RSA_PKCS1 ? "BEGIN RSA PRIVATE KEY" : "BEGIN EC PRIVATE KEY"));
            ServerTls tls = ServerTls.load(tls(issued.cert(), issued.key()), TlsProvider.detect());
            Channel s = echoServer(tls);
            try {
                Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), Loopback.clientTrusting(pki.caCert()).build());
                assertTrue(c.handshake(), () -> kind + ": " + c.ssl().handshakeFuture().cause());
                c.channel().close().sync();
            } finally {
                s.close().sync();
            }
        }
    }

    // --- startup errors: each names the file ---

    @Test
    void missingCertificateFileIsNamed() {
        Path missing = dir.resolve("no-such.crt");
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(missing, server.key()), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains("tls.cert") && e.getMessage().contains(missing.toString())
                && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void unreadableKeyFileIsNamed() throws Exception {
        Path key = dir.resolve("unreadable.key");
        Files.copy(server.key(), key, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(key, Set.of());
        if (Files.isReadable(key)) {
            // root reads everything; a directory in the file's place is unreadable as a file for anyone.
            Files.delete(key);
            Files.createDirectory(key);
        }
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(server.cert(), key), TlsProvider.jdk()));
        assertTrue(e.getMessage().startsWith("tls.key: " + key), e.getMessage());
    }

    @Test
    void fileThatIsNotPemIsNamed() throws Exception {
        Path der = dir.resolve("server.der");
        Files.write(der, new byte[] {0x30, (byte) 0x82, 0x01, 0x00, 0x01, 0x02});
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(der, server.key()), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains("tls.cert") && e.getMessage().contains(der.toString())
                && e.getMessage().contains("not a PEM file"), e.getMessage());
    }

    @Test
    void keyThatDoesNotMatchTheCertificateIsNamed() throws Exception {
        TestPki.Issued other = pki.server("other-server");
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(server.cert(), other.key()), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains(other.key().toString()) && e.getMessage().contains(server.cert().toString())
                && e.getMessage().contains("does not match"), e.getMessage());
        assertFalse(e.getMessage().contains("PRIVATE KEY"), e.getMessage());
    }

    @Test
    void expiredCertificateIsNamed() throws Exception {
        TestPki.Issued expired = pki.server("expired", TestPki.KeyKind.EC_PKCS8,
                Instant.now().minus(Duration.ofDays(10)), Instant.now().minus(Duration.ofDays(1)));
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(expired.cert(), expired.key()), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains(expired.cert().toString()) && e.getMessage().contains("expired on"), e.getMessage());
    }

    @Test
    void certificateNotYetValidIsNamed() throws Exception {
        TestPki.Issued future = pki.server("future", TestPki.KeyKind.EC_PKCS8,
                Instant.now().plus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(2)));
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(future.cert(), future.key()), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains(future.cert().toString()) && e.getMessage().contains("not valid before"), e.getMessage());
    }

    @Test
    void encryptedKeyIsRefusedWithAClearMessage() throws Exception {
        Path enc = dir.resolve("encrypted.key");
        new ProcessBuilder("openssl", "pkcs8", "-topk8", "-in", server.key().toString(), "-out", enc.toString(),
                "-passout", "pass:secret-pass").inheritIO().start().waitFor();
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> ServerTls.load(tls(server.cert(), enc), TlsProvider.jdk()));
        assertTrue(e.getMessage().contains(enc.toString()) && e.getMessage().contains("encrypted"), e.getMessage());
    }

    // --- reload ---

    @Test
    void reloadOnFileChangeKeepsOpenConnectionsAndNewOnesSeeTheNewCertificate() throws Exception {
        Path live = Files.createDirectories(dir.resolve("live"));
        Path cert = live.resolve("server.crt");
        Path key = live.resolve("server.key");
        TestPki.Issued first = pki.server("reload-1");
        TestPki.Issued second = pki.server("reload-2");
        Files.copy(first.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(first.key(), key, StandardCopyOption.REPLACE_EXISTING);
        ServerTls tls = ServerTls.load(tls(cert, key), TlsProvider.detect());
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        Channel s = echoServer(tls);
        try {
            ScheduledFuture<?> watch = tls.watch(executor, Duration.ofMillis(50));
            SslContext client = Loopback.clientTrusting(pki.caCert()).build();
            Loopback.TlsClient before = loopback.tlsClient(Loopback.port(s), client);
            assertTrue(before.handshake());
            X509Certificate seenBefore = (X509Certificate) before.ssl().engine().getSession().getPeerCertificates()[0];

            // Key first, then certificate: in between, the pair does not match and is refused.
            Files.copy(second.key(), key, StandardCopyOption.REPLACE_EXISTING);
            Files.copy(second.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
            X509Certificate expected = PemFiles.certificates("t", second.cert()).get(0);
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!tls.certificate().equals(expected) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(expected, tls.certificate());

            assertEquals("still here", before.send("still here"));
            Loopback.TlsClient after = loopback.tlsClient(Loopback.port(s), client);
            assertTrue(after.handshake());
            X509Certificate seenAfter = (X509Certificate) after.ssl().engine().getSession().getPeerCertificates()[0];
            assertEquals(expected, seenAfter);
            assertNotEquals(seenBefore, seenAfter);
            watch.cancel(false);
            before.channel().close().sync();
            after.channel().close().sync();
        } finally {
            executor.shutdownNow();
            s.close().sync();
        }
    }

    @Test
    void brokenNewFileKeepsTheOldCertificate() throws Exception {
        Path live = Files.createDirectories(dir.resolve("broken"));
        Path cert = live.resolve("server.crt");
        Path key = live.resolve("server.key");
        Files.copy(server.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(server.key(), key, StandardCopyOption.REPLACE_EXISTING);
        ServerTls tls = ServerTls.load(tls(cert, key), TlsProvider.detect());
        X509Certificate original = tls.certificate();

        Files.writeString(cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
        assertFalse(tls.reload());
        tls.pollOnce();
        assertEquals(original, tls.certificate());
        Files.writeString(cert, "garbage");
        assertFalse(tls.reload());
        Files.delete(cert);
        assertFalse(tls.reload());
        assertEquals(original, tls.certificate());

        Channel s = echoServer(tls);
        try {
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), Loopback.clientTrusting(pki.caCert()).build());
            assertTrue(c.handshake());
            assertEquals(original, c.ssl().engine().getSession().getPeerCertificates()[0]);
            c.channel().close().sync();
        } finally {
            s.close().sync();
        }

        // A good file again is picked up by the poll.
        Files.copy(server.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        TestPki.Issued next = pki.server("after-broken");
        Files.copy(next.key(), key, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(next.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
        tls.pollOnce();
        assertEquals(PemFiles.certificates("t", next.cert()).get(0), tls.certificate());
    }

    // --- client certificates ---

    Tls clientCertTls(ClientCertVerify verify) {
        return new Tls(ClientTlsMode.REQUIRE, Optional.of(server.cert()), Optional.of(server.key()),
                Optional.of(pki.caCert()), verify);
    }

    @ParameterizedTest
    @MethodSource("providers")
    void clientCertificateFromTheCaIsAcceptedAndOthersAreRefused(TlsProvider provider) throws Exception {
        TestPki.Issued alice = pki.client("alice-" + provider.sslProvider(), "alice");
        TestPki.Issued mallory = otherPki.client("mallory-" + provider.sslProvider(), "alice");
        ServerTls tls = ServerTls.load(clientCertTls(ClientCertVerify.CA), provider);
        Channel[] accepted = new Channel[1];
        Channel s = loopback.server(ch -> {
            accepted[0] = ch;
            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new Loopback.Echo());
        });
        try {
            SslContext good = Loopback.clientTrusting(pki.caCert()).keyManager(alice.cert().toFile(), alice.key().toFile()).build();
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), good);
            assertTrue(c.handshake(), () -> String.valueOf(c.ssl().handshakeFuture().cause()));
            // TLS 1.3: the server checks the client certificate after the client's Finished; the echo proves it passed.
            assertEquals("hi", c.send("hi"));
            assertEquals(Optional.empty(), tls.clientCertificateRefusal(accepted[0], "anyone"));
            c.channel().close().sync();

            SslContext wrong = Loopback.clientTrusting(pki.caCert()).keyManager(mallory.cert().toFile(), mallory.key().toFile()).build();
            assertRefused(loopback.tlsClient(Loopback.port(s), wrong));
            SslContext none = Loopback.clientTrusting(pki.caCert()).build();
            assertRefused(loopback.tlsClient(Loopback.port(s), none));
        } finally {
            s.close().sync();
        }
    }

    /** Refused either in the handshake (TLS 1.2) or right after it, before any data is echoed (TLS 1.3). */
    private static void assertRefused(Loopback.TlsClient c) throws InterruptedException {
        if (c.handshake()) {
            c.channel().writeAndFlush(c.channel().alloc().buffer().writeByte('x'));
            assertTrue(c.channel().closeFuture().await(10, java.util.concurrent.TimeUnit.SECONDS), "connection stayed open");
            assertTrue(c.received().reads.isEmpty(), "the server echoed data to a refused client");
        }
    }

    @Test
    void verifyFullComparesTheCertificateCnWithTheUserName() throws Exception {
        TestPki.Issued alice = pki.client("alice-full", "alice");
        ServerTls tls = ServerTls.load(clientCertTls(ClientCertVerify.FULL), TlsProvider.detect());
        Channel[] accepted = new Channel[1];
        Channel s = loopback.server(ch -> {
            accepted[0] = ch;
            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new Loopback.Echo());
        });
        try {
            SslContext good = Loopback.clientTrusting(pki.caCert()).keyManager(alice.cert().toFile(), alice.key().toFile()).build();
            Loopback.TlsClient c = loopback.tlsClient(Loopback.port(s), good);
            assertTrue(c.handshake());
            assertEquals("x", c.send("x"));
            assertEquals(Optional.empty(), tls.clientCertificateRefusal(accepted[0], "alice"));
            Optional<String> refusal = tls.clientCertificateRefusal(accepted[0], "bob");
            assertTrue(refusal.isPresent() && refusal.get().contains("\"alice\"") && refusal.get().contains("\"bob\""),
                    refusal.toString());
            c.channel().close().sync();
        } finally {
            s.close().sync();
        }
        // A plaintext connection has no certificate to show.
        io.netty.channel.embedded.EmbeddedChannel plain = new io.netty.channel.embedded.EmbeddedChannel();
        assertTrue(tls.clientCertificateRefusal(plain, "alice").isPresent());
        plain.finishAndReleaseAll();
    }

    @Test
    void commonNameIsTheLastCnOfTheSubject() throws Exception {
        X509Certificate cert = PemFiles.certificates("t", pki.client("cn", "app_user").cert()).get(0);
        assertEquals(Optional.of("app_user"), ServerTls.commonName(cert));
    }
}
