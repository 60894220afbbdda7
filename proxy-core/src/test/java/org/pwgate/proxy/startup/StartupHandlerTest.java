package org.pwgate.proxy.startup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pwgate.auth.ClientAuthenticator;
import org.pwgate.auth.Credential;
import org.pwgate.auth.CredentialSource;
import org.pwgate.auth.Md5;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.TestConfigs;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.cancel.CancelForwarder;
import org.pwgate.proxy.cancel.CancelRegistry;
import org.pwgate.proxy.gate.GateFactory;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationMd5Password;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.NegotiateProtocolVersion;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrameEncoder;
import org.pwgate.proxy.protocol.FrontendCodec;
import org.pwgate.proxy.protocol.FrontendMessage;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest;
import org.pwgate.proxy.tls.BackendTls;

/** The startup handler alone, on an EmbeddedChannel fed real protocol bytes. */
class StartupHandlerTest {

    /** An in-memory credential source: a real implementation of the interface, not a mock. */
    private static final class Users implements CredentialSource {
        private final Map<String, Credential> users = new LinkedHashMap<>();

        Users add(String user, String password, boolean canLogin) {
            users.put(user, new Credential(user, Optional.of(Md5.hash(password, user)), canLogin, Optional.empty()));
            return this;
        }

        @Override
        public CompletionStage<Optional<Credential>> lookup(String user) {
            return CompletableFuture.completedFuture(Optional.ofNullable(users.get(user)));
        }
    }

    private final Users users = new Users().add("app", "secret", true).add("locked", "secret", false);

    private EmbeddedChannel channel(boolean overLimit) {
        PwgateConfig config = TestConfigs.embedded(10, Duration.ofSeconds(2));
        Transport transport = Transport.detect();
        // Port 1 on loopback: nothing listens, so a backend login would fail; these tests never get that far.
        BackendConnector connector = new BackendConnector(transport, new InetSocketAddress("127.0.0.1", 1), Duration.ofSeconds(1));
        SecureRandom random = new SecureRandom();
        StartupServices services = new StartupServices(() -> config, users, new ClientAuthenticator(random), connector,
                new CancelRegistry(random), new CancelForwarder(transport, Duration.ofSeconds(1), BackendTls.disabled()),
                new GateFactory(() -> config), LoginThrottle.NONE, Clock.systemUTC());
        FrameDecoder decoder = FrameDecoder.forClient(1 << 20);
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast("frames", decoder);
        ch.pipeline().addLast("frameEncoder", new FrameEncoder());
        ch.pipeline().addLast("startup", new StartupHandler(services, decoder, 1, overLimit));
        return ch;
    }

    @Test
    void sslRequestIsAnsweredN() {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(new StartupRequest.SslRequest()));
        assertArrayEquals(new byte[] {'N'}, outbound(ch));
        assertTrue(ch.isActive());
        ch.writeInbound(startup(new StartupRequest.GssEncRequest()));
        assertArrayEquals(new byte[] {'N'}, outbound(ch));
        ch.writeInbound(startup(startupMessage(0, Map.of("user", "app"))));
        assertInstanceOf(AuthenticationMd5Password.class, responses(ch).get(0));
        ch.finishAndReleaseAll();
    }

    @Test
    void protocol2IsAViolation() {
        EmbeddedChannel ch = channel(false);
        ByteBuf p2 = Unpooled.buffer().writeInt(8).writeInt(2 << 16);
        ch.writeInbound(p2);
        ErrorResponse e = (ErrorResponse) responses(ch).get(0);
        assertEquals("08P01", e.sqlState());
        assertFalse(ch.isActive());
        ch.finishAndReleaseAll();
    }

    @Test
    void oversizedStartupPacketIsAViolation() {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(Unpooled.buffer().writeInt(20_000).writeInt(3 << 16));
        ErrorResponse e = (ErrorResponse) responses(ch).get(0);
        assertEquals("08P01", e.sqlState());
        assertFalse(ch.isActive());
        ch.finishAndReleaseAll();
    }

    @Test
    void minorVersionAndPqOptionsAreNegotiatedDown() {
        EmbeddedChannel ch = channel(false);
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", "app");
        params.put("_pq_.compression", "on");
        ch.writeInbound(startup(startupMessage(1, params)));
        List<BackendMessage> out = responses(ch);
        assertEquals(new NegotiateProtocolVersion(0, List.of("_pq_.compression")), out.get(0));
        assertInstanceOf(AuthenticationMd5Password.class, out.get(1));
        ch.finishAndReleaseAll();
    }

    @Test
    void missingUserIsRefusedLikePostgres() {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(startupMessage(0, Map.of("database", "postgres"))));
        ErrorResponse e = (ErrorResponse) responses(ch).get(0);
        assertEquals("28000", e.sqlState());
        assertEquals("no PostgreSQL user name specified in startup packet", e.message());
        assertFalse(ch.isActive());
        ch.finishAndReleaseAll();
    }

    @Test
    void replicationConnectionsAreRefused() {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(startupMessage(0, Map.of("user", "app", "replication", "database"))));
        assertEquals("0A000", ((ErrorResponse) responses(ch).get(0)).sqlState());
        ch.finishAndReleaseAll();
    }

    @Test
    void overTheConnectionLimitGets53300AfterTheStartupMessage() {
        EmbeddedChannel ch = channel(true);
        ch.writeInbound(startup(new StartupRequest.SslRequest()));
        assertArrayEquals(new byte[] {'N'}, outbound(ch));
        ch.writeInbound(startup(startupMessage(0, Map.of("user", "app"))));
        ErrorResponse e = (ErrorResponse) responses(ch).get(0);
        assertEquals("53300", e.sqlState());
        assertEquals("sorry, too many clients already", e.message());
        ch.finishAndReleaseAll();
    }

    @Test
    void wrongPasswordUnknownUserAndNologinLookIdentical() {
        assertEquals(refusal("app", "wrong"), "FATAL 28P01 password authentication failed for user \"app\"");
        assertEquals(refusal("nobody", "secret"), "FATAL 28P01 password authentication failed for user \"nobody\"");
        assertEquals(refusal("locked", "secret"), "FATAL 28P01 password authentication failed for user \"locked\"");
    }

    @Test
    void somethingOtherThanAPasswordIsAViolation() {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(startupMessage(0, Map.of("user", "app"))));
        responses(ch);
        ByteBuf q = Unpooled.buffer();
        FrontendCodec.encode(new FrontendMessage.Query("SELECT 1"), q);
        ch.writeInbound(q);
        assertEquals("08P01", ((ErrorResponse) responses(ch).get(0)).sqlState());
        ch.finishAndReleaseAll();
    }

    @Test
    void authenticationMustFinishInTime() throws Exception {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(startupMessage(0, Map.of("user", "app"))));
        responses(ch);
        ch.advanceTimeBy(3, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ErrorResponse e = (ErrorResponse) responses(ch).get(0);
        assertEquals("57014", e.sqlState());
        assertFalse(ch.isActive());
        ch.finishAndReleaseAll();
    }

    private String refusal(String user, String password) {
        EmbeddedChannel ch = channel(false);
        ch.writeInbound(startup(startupMessage(0, Map.of("user", user))));
        AuthenticationMd5Password challenge = (AuthenticationMd5Password) responses(ch).get(0);
        ByteBuf p = Unpooled.buffer();
        FrontendCodec.encode(new FrontendMessage.PasswordMessage(Md5.clientResponse(password, user, challenge.salt())), p);
        long t0 = System.nanoTime();
        ch.writeInbound(p);
        ch.runPendingTasks();
        // Refusals wait for the floor, whatever their reason, so that timing does not tell them apart.
        var early = responses(ch);
        if (!early.isEmpty()) {
            // Only allowed when the floor had already passed in real time (a slow, loaded machine).
            assertTrue(System.nanoTime() - t0 >= StartupHandler.REFUSAL_FLOOR.toNanos(),
                    "a refusal must not be answered before StartupHandler.REFUSAL_FLOOR");
        } else {
            ch.advanceTimeBy(StartupHandler.REFUSAL_FLOOR.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            ch.runScheduledPendingTasks();
            early = responses(ch);
        }
        ErrorResponse e = (ErrorResponse) early.get(0);
        assertFalse(ch.isActive());
        ch.finishAndReleaseAll();
        return e.severity() + " " + e.sqlState() + " " + e.message();
    }

    private static StartupRequest.StartupMessage startupMessage(int minor, Map<String, String> params) {
        return new StartupRequest.StartupMessage(3, minor, params);
    }

    private static ByteBuf startup(StartupRequest r) {
        ByteBuf b = Unpooled.buffer();
        StartupCodec.encode(r, b);
        return b;
    }

    private static byte[] outbound(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        byte[] bytes = ByteBufUtil.getBytes(all);
        all.release();
        return bytes;
    }

    /** Everything written so far, decoded as backend messages. */
    private static List<BackendMessage> responses(EmbeddedChannel ch) {
        EmbeddedChannel decoder = new EmbeddedChannel(FrameDecoder.forBackend());
        decoder.writeInbound(Unpooled.wrappedBuffer(outbound(ch)));
        List<BackendMessage> out = new ArrayList<>();
        Frame f;
        while ((f = decoder.readInbound()) != null) {
            out.add(BackendCodec.decode(f));
            f.release();
        }
        decoder.finishAndReleaseAll();
        return out;
    }
}
