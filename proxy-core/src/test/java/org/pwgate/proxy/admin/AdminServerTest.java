package org.pwgate.proxy.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pwgate.auth.CredentialSource;
import org.pwgate.auth.Credential;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.metrics.PwgateMetrics;

class AdminServerTest {
    static Transport transport;
    static EventLoopGroup group;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final PwgateMetrics metrics = new PwgateMetrics();
    final AtomicReference<Supplier<CompletionStage<Readiness>>> readiness =
            new AtomicReference<>(() -> CompletableFuture.completedFuture(Readiness.up()));
    AdminServer server;

    @BeforeAll
    static void loops() {
        transport = Transport.detect();
        group = transport.newGroup(1, "admin-test");
    }

    @AfterAll
    static void stopLoops() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        metrics.close();
    }

    void start(Duration readinessTimeout) throws Exception {
        server = AdminServer.start(new PwgateConfig.Admin("127.0.0.1", 0), transport, group, metrics,
                () -> readiness.get().get(), readinessTimeout);
    }

    HttpResponse<String> request(String method, String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + server.localAddress().getPort() + path);
        HttpRequest r = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(r, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsAreServedInPrometheusTextFormat() throws Exception {
        start(Duration.ofSeconds(5));
        metrics.guardInjected();
        metrics.guardInjected();
        HttpResponse<String> r = request("GET", "/metrics");
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
        assertTrue(r.body().contains("# TYPE pwgate_guard_injections_total counter"), r.body());
        assertTrue(r.body().contains("\npwgate_guard_injections_total 2.0\n"), r.body());
    }

    @Test
    void livezAnswersOkWhileTheLoopsRun() throws Exception {
        start(Duration.ofSeconds(5));
        HttpResponse<String> r = request("GET", "/livez");
        assertEquals(200, r.statusCode());
        assertEquals("ok\n", r.body());
    }

    @Test
    void livezAnswersTheContainerHealthcheckOverHttp10() throws Exception {
        start(Duration.ofSeconds(5));
        // What docker/entrypoint.sh healthcheck sends, through bash's /dev/tcp.
        try (Socket s = new Socket("127.0.0.1", server.localAddress().getPort())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write("GET /livez HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(response.startsWith("HTTP/1.1 200 OK\r\n"), response);
            assertTrue(response.endsWith("\r\n\r\nok\n"), response);
        }
    }

    @Test
    void readyzFollowsTheReadinessCheck() throws Exception {
        start(Duration.ofSeconds(5));
        assertEquals(200, request("GET", "/readyz").statusCode());
        readiness.set(() -> CompletableFuture.completedFuture(Readiness.down("backend 127.0.0.1:5432 unreachable")));
        HttpResponse<String> r = request("GET", "/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("backend 127.0.0.1:5432 unreachable\n", r.body());
        // An answer that comes later, from another thread, is still delivered.
        readiness.set(() -> CompletableFuture.supplyAsync(Readiness::up,
                CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS)));
        assertEquals(200, request("GET", "/readyz").statusCode());
    }

    @Test
    void readyzIsNotReadyWhenTheCheckHangsOrFails() throws Exception {
        start(Duration.ofMillis(300));
        readiness.set(CompletableFuture::new);
        long t0 = System.nanoTime();
        HttpResponse<String> r = request("GET", "/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("readiness check timed out\n", r.body());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));

        readiness.set(() -> CompletableFuture.failedFuture(new IllegalStateException("secret detail")));
        r = request("GET", "/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("readiness check failed\n", r.body());

        readiness.set(() -> {
            throw new IllegalStateException("boom");
        });
        assertEquals(503, request("GET", "/readyz").statusCode());
        // The loop is still serving.
        assertEquals(200, request("GET", "/livez").statusCode());
    }

    @Test
    void readyzSaysShuttingDownOnceDrainingStarts() throws Exception {
        start(Duration.ofSeconds(5));
        server.startDraining();
        HttpResponse<String> r = request("GET", "/readyz");
        assertEquals(503, r.statusCode());
        assertEquals("shutting down\n", r.body());
        assertEquals(200, request("GET", "/livez").statusCode());
    }

    @Test
    void unknownPathsAre404AndOtherMethods405() throws Exception {
        start(Duration.ofSeconds(5));
        assertEquals(404, request("GET", "/").statusCode());
        assertEquals(404, request("GET", "/metrics/extra").statusCode());
        HttpResponse<String> post = request("POST", "/metrics");
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("allow").orElseThrow());
        assertEquals(405, request("DELETE", "/readyz").statusCode());
        assertEquals(200, request("GET", "/livez?verbose=1").statusCode());
    }

    @Test
    void oversizedRequestsAreRefused() throws Exception {
        start(Duration.ofSeconds(5));
        String longPath = "/" + "a".repeat(AdminServer.MAX_REQUEST_LINE + 10);
        assertEquals(400, raw("GET " + longPath + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        String body = "x".repeat(AdminServer.MAX_BODY + 1);
        assertEquals(413, raw("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body));
    }

    /** Sends raw bytes, returns the status code of the answer. */
    int raw(String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.localAddress().getPort())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            byte[] head = new byte[12];
            int n = 0;
            while (n < head.length) {
                int k = in.read(head, n, head.length - n);
                if (k < 0) {
                    break;
                }
                n += k;
            }
            String status = new String(head, 0, n, StandardCharsets.US_ASCII);
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    @Test
    void readinessCheckWantsTheBackendReachableAndTheCredentialSourceHealthy() throws Exception {
        AtomicReference<Boolean> healthy = new AtomicReference<>(true);
        CredentialSource source = new CredentialSource() {
            @Override
            public CompletionStage<java.util.Optional<Credential>> lookup(String user) {
                return CompletableFuture.completedFuture(java.util.Optional.empty());
            }

            @Override
            public CompletionStage<Boolean> healthy() {
                return CompletableFuture.completedFuture(healthy.get());
            }
        };
        try (ServerSocket backend = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            InetSocketAddress at = new InetSocketAddress("127.0.0.1", backend.getLocalPort());
            ReadinessCheck check = new ReadinessCheck(transport, group, at, Duration.ofSeconds(2), source);
            assertEquals(Readiness.up(), check.get().toCompletableFuture().get(5, TimeUnit.SECONDS));
            healthy.set(false);
            Readiness r = check.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertEquals(Readiness.down("credential source not answering"), r);
            healthy.set(true);
            backend.close();
            r = check.get().toCompletableFuture().get(5, TimeUnit.SECONDS);
            assertTrue(!r.ready() && r.reason().startsWith("backend 127.0.0.1:" + at.getPort() + " unreachable"), r.reason());
        }
    }
}
