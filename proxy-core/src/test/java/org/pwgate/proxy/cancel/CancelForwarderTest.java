package org.pwgate.proxy.cancel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.config.PwgateConfig.BackendTlsMode;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.tls.BackendTls;
import org.pwgate.proxy.tls.TlsProvider;

/**
 * How a cancel leaves pwgate: plaintext with {@code backend.tls: disable}, and never in plaintext
 * when TLS is required. The backend here is a socket that records what it is sent: what matters
 * is which bytes reach it (a real PostgreSQL's answer is checked in BackendTlsIT).
 */
class CancelForwarderTest {
    static final Transport transport = Transport.detect();
    static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = transport.newGroup(1, "cancel-test");
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * Accepts one connection; answers an SSLRequest with {@code sslAnswer} (0: no answer); records
     * up to a cancel request, or to EOF, and then closes after {@code closeDelayMs}, as PostgreSQL
     * closes once it has signalled the backend process.
     */
    static final class RecordingBackend implements AutoCloseable {
        final ServerSocket server;
        final CompletableFuture<byte[]> received = new CompletableFuture<>();
        final CompletableFuture<Long> closedAt = new CompletableFuture<>();

        RecordingBackend(byte sslAnswer) throws Exception {
            this(sslAnswer, 0);
        }

        RecordingBackend(byte sslAnswer, long closeDelayMs) throws Exception {
            server = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    ByteArrayOutputStream all = new ByteArrayOutputStream();
                    byte[] head = in.readNBytes(8);
                    all.write(head);
                    boolean ssl = head.length == 8 && ByteBuffer.wrap(head, 4, 4).getInt() == SSL_REQUEST;
                    if (ssl && sslAnswer != 0) {
                        s.getOutputStream().write(sslAnswer);
                        s.getOutputStream().flush();
                    }
                    // The rest of the cancel request (all of it after an SSLRequest), or less at EOF.
                    all.write(in.readNBytes(ssl ? 16 : 8));
                    received.complete(all.toByteArray());
                    Thread.sleep(closeDelayMs);
                    closedAt.complete(System.nanoTime()); // just before the close
                } catch (Exception e) {
                    received.completeExceptionally(e);
                }
            }, "recording-backend");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress("127.0.0.1", server.getLocalPort());
        }

        @Override
        public void close() throws Exception {
            server.close();
        }
    }

    static final int SSL_REQUEST = 80877103;
    static final BackendKeyData KEY = new BackendKeyData(4242, 0x5ec7e7);

    static byte[] cancelRequest() {
        return ByteBuffer.allocate(16).putInt(16).putInt(80877102).putInt(KEY.processId()).putInt(KEY.secretKey()).array();
    }

    static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(SSL_REQUEST).array();
    }

    static BackendTls tls(BackendTlsMode mode) throws Exception {
        return BackendTls.of(mode, Optional.empty(), "127.0.0.1", mode == BackendTlsMode.DISABLE ? null : TlsProvider.detect());
    }

    static Future<Void> forward(BackendTls tls, InetSocketAddress backend, Duration timeout) {
        return new CancelForwarder(transport, timeout, tls).forward(group.next(), new CancelRegistry.Target(backend, KEY));
    }

    @Test
    void withTlsDisabledTheCancelRequestGoesAsItIs() throws Exception {
        try (RecordingBackend backend = new RecordingBackend((byte) 0)) {
            Future<Void> done = forward(tls(BackendTlsMode.DISABLE), backend.address(), Duration.ofSeconds(5));
            assertTrue(done.await(5, TimeUnit.SECONDS) && done.isSuccess(), String.valueOf(done.cause()));
            assertArrayEquals(cancelRequest(), backend.received.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void theForwardIsDoneOnlyOnceTheBackendHasClosedTheConnection() throws Exception {
        // Only then may the client's cancel connection close: the client goes on after that close.
        try (RecordingBackend backend = new RecordingBackend((byte) 0, 400)) {
            Future<Void> done = forward(tls(BackendTlsMode.DISABLE), backend.address(), Duration.ofSeconds(5));
            CompletableFuture<Long> doneAt = new CompletableFuture<>();
            done.addListener(f -> doneAt.complete(System.nanoTime()));
            assertArrayEquals(cancelRequest(), backend.received.get(5, TimeUnit.SECONDS));
            assertFalse(done.await(200, TimeUnit.MILLISECONDS), "done before the backend closed");
            assertTrue(done.await(5, TimeUnit.SECONDS) && done.isSuccess(), String.valueOf(done.cause()));
            assertTrue(doneAt.get(1, TimeUnit.SECONDS) >= backend.closedAt.get(1, TimeUnit.SECONDS),
                    "done before the backend closed");
        }
    }

    @Test
    void aBackendThatTakesTheRequestButNeverClosesIsGivenUpAfterTheConnectTimeout() throws Exception {
        try (RecordingBackend backend = new RecordingBackend((byte) 0, 60_000)) {
            long t0 = System.nanoTime();
            Future<Void> done = forward(tls(BackendTlsMode.DISABLE), backend.address(), Duration.ofMillis(300));
            assertTrue(done.await(5, TimeUnit.SECONDS));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(done.cause() instanceof TimeoutException, String.valueOf(done.cause()));
            assertTrue(ms >= 250 && ms < 3000, ms + " ms");
            assertArrayEquals(cancelRequest(), backend.received.get(1, TimeUnit.SECONDS));
        }
    }

    @Test
    void withTlsRequiredABackendThatRefusesTlsGetsNoCancelKey() throws Exception {
        try (RecordingBackend backend = new RecordingBackend((byte) 'N')) {
            Future<Void> done = forward(tls(BackendTlsMode.REQUIRE), backend.address(), Duration.ofSeconds(5));
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertFalse(done.isSuccess());
            assertTrue(done.cause().getMessage().contains("does not accept TLS"), done.cause().getMessage());
            // The connection is closed after the SSLRequest: the key never went out.
            assertArrayEquals(sslRequest(), backend.received.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void withTlsPreferredABackendWithoutTlsGetsThePlainCancel() throws Exception {
        try (RecordingBackend backend = new RecordingBackend((byte) 'N')) {
            Future<Void> done = forward(tls(BackendTlsMode.PREFER), backend.address(), Duration.ofSeconds(5));
            assertTrue(done.await(5, TimeUnit.SECONDS) && done.isSuccess(), String.valueOf(done.cause()));
            byte[] expected = ByteBuffer.allocate(24).put(sslRequest()).put(cancelRequest()).array();
            assertArrayEquals(expected, backend.received.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void aBackendThatNeverAnswersTheSslRequestIsGivenUpAfterTheConnectTimeout() throws Exception {
        try (RecordingBackend backend = new RecordingBackend((byte) 0)) {
            long t0 = System.nanoTime();
            Future<Void> done = forward(tls(BackendTlsMode.REQUIRE), backend.address(), Duration.ofMillis(300));
            assertTrue(done.await(5, TimeUnit.SECONDS));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(done.cause() instanceof TimeoutException, String.valueOf(done.cause()));
            assertTrue(ms >= 250 && ms < 3000, ms + " ms");
            // pwgate closed its side: the backend read to EOF, and only the SSLRequest.
            assertArrayEquals(sslRequest(), backend.received.get(5, TimeUnit.SECONDS));
        }
    }
}
