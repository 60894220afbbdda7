package org.pwgate.proxy.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.pwgate.auth.ClientAuthenticator;
import org.pwgate.auth.Credential;
import org.pwgate.auth.CredentialSource;
import org.pwgate.auth.Md5;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.RecordingAllocator;
import org.pwgate.proxy.TestConfigs;
import org.pwgate.proxy.Transport;
import org.pwgate.proxy.backend.BackendConnector;
import org.pwgate.proxy.cancel.CancelForwarder;
import org.pwgate.proxy.cancel.CancelRegistry;
import org.pwgate.proxy.gate.GateFactory;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrameDecoder;
import org.pwgate.proxy.protocol.FrameEncoder;
import org.pwgate.proxy.protocol.StartupCodec;
import org.pwgate.proxy.protocol.StartupRequest;
import org.pwgate.proxy.startup.LoginThrottle;
import org.pwgate.proxy.startup.StartupHandler;
import org.pwgate.proxy.startup.StartupServices;
import org.pwgate.proxy.tls.BackendTls;

/**
 * Random and mutated client bytes against the real client pipeline (FrameDecoder, FrameEncoder,
 * StartupHandler) on an EmbeddedChannel, before a session exists: the states where pwgate itself,
 * not the backend, must answer. Seeded bounded loops, so a failure names its seed and case and
 * replays exactly. Leaks fail the class (LeakCheckExtension, PARANOID).
 *
 * <p>What PostgreSQL answers, and so what pwgate must: a startup packet whose length is outside
 * [8, 10000], an unknown protocol code, a malformed parameter list, a non-password message after
 * the MD5 challenge, a malformed password packet or a tagged length below 4 or above the cap all
 * get FATAL 08P01 and a close. A packet whose length is announced but not yet complete is waited
 * for (auth_timeout ends that). Some well-formed variants get their own clear codes: 28000 (no
 * user name), 0A000 (replication), 28P01 (wrong password).
 */
@ExtendWith(QuietLogs.class)
class ProtocolFuzzTest {
    private static final long SEED = Long.getLong("pwgate.fuzz.seed", 20240608L);
    private static final int CASES = Integer.getInteger("pwgate.fuzz.cases", 1500);
    private static final long CAP = 1 << 20;
    private static final Set<String> STARTUP_CODES = Set.of("08P01", "28000", "0A000");

    /** An in-memory credential source: a real implementation, not a mock. */
    private static final CredentialSource USERS = user -> CompletableFuture.completedFuture(
            user.equals("app") ? Optional.of(new Credential("app", Optional.of(Md5.hash("secret", "app")), true, Optional.empty()))
                    : Optional.<Credential>empty());

    private static EmbeddedChannel client(long maxMessageSize, ByteBufAllocator alloc) {
        PwgateConfig config = TestConfigs.embedded(10, Duration.ofSeconds(30));
        Transport transport = Transport.detect();
        // Nothing listens on port 1: these sessions never get past authentication.
        BackendConnector connector = new BackendConnector(transport, new InetSocketAddress("127.0.0.1", 1), Duration.ofSeconds(1));
        SecureRandom random = new SecureRandom();
        StartupServices services = new StartupServices(() -> config, USERS, new ClientAuthenticator(random), connector,
                new CancelRegistry(random), new CancelForwarder(transport, Duration.ofSeconds(1), BackendTls.disabled()),
                new GateFactory(() -> config), LoginThrottle.NONE, Clock.systemUTC());
        FrameDecoder decoder = FrameDecoder.forClient(maxMessageSize);
        EmbeddedChannel ch = new EmbeddedChannel();
        if (alloc != null) {
            ch.config().setAllocator(alloc);
        }
        ch.pipeline().addLast("frames", decoder);
        ch.pipeline().addLast("frameEncoder", new FrameEncoder());
        ch.pipeline().addLast("startup", new StartupHandler(services, decoder, 1, false));
        return ch;
    }

    // ------------------------------------------------------------------ startup state

    @Test
    void garbageBeforeTheStartupPacketIsRefusedWith08P01OrWaitedFor() {
        Random rnd = new Random(SEED);
        for (int i = 0; i < CASES; i++) {
            byte[] bytes = new byte[rnd.nextInt(64)];
            rnd.nextBytes(bytes);
            if (bytes.length >= 4 && rnd.nextInt(3) == 0) {
                // A plausible length, so that the protocol code and the body get exercised too.
                int len = 8 + rnd.nextInt(Math.max(1, bytes.length - 7));
                bytes[0] = 0;
                bytes[1] = 0;
                bytes[2] = (byte) (len >>> 8);
                bytes[3] = (byte) len;
            }
            checkStartupBytes("garbage case " + i + " seed " + SEED, bytes);
        }
    }

    @Test
    void mutatedStartupPacketsAreAnsweredOrRefusedWith08P01() {
        Random rnd = new Random(SEED + 1);
        List<byte[]> valid = List.of(
                encode(new StartupRequest.StartupMessage(3, 0, Map.of("user", "app", "database", "postgres"))),
                encode(new StartupRequest.StartupMessage(3, 0, params("user", "app", "application_name", "fuzz",
                        "options", "-c search_path=public", "_pq_.x", "1"))),
                encode(new StartupRequest.SslRequest()),
                encode(new StartupRequest.GssEncRequest()),
                encode(new StartupRequest.CancelRequest(42, 4242)));
        for (int i = 0; i < CASES; i++) {
            byte[] bytes = Mutator.mutate(valid.get(rnd.nextInt(valid.size())), rnd);
            checkStartupBytes("mutation case " + i + " seed " + SEED, bytes);
        }
    }

    /**
     * Feeds {@code bytes} as the whole client stream and checks pwgate's answer: an incomplete
     * packet is waited for silently; anything else is answered by a known reply, or by an
     * ErrorResponse with an expected SQLSTATE and a close.
     */
    private static void checkStartupBytes(String what, byte[] bytes) {
        EmbeddedChannel ch = client(CAP, null);
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(bytes));
            ch.runPendingTasks();
            ch.checkException();
            List<Reply> replies = Reply.parseAll(outbound(ch));
            Optional<Reply> error = replies.stream().filter(r -> r.tag() == 'E').findFirst();
            if (error.isPresent()) {
                String code = error.get().field('C');
                assertTrue(STARTUP_CODES.contains(code), what + ": unexpected SQLSTATE " + code + " for " + hex(bytes));
                assertFalse(ch.isActive(), what + ": open after a fatal error for " + hex(bytes));
                assertEquals(error.get(), replies.get(replies.size() - 1), what + ": the error must be the last message");
                return;
            }
            if (!ch.isActive()) {
                // Only a CancelRequest closes without a word, as PostgreSQL does.
                assertTrue(bytes.length >= 16 && intAt(bytes, 0) == 16 && intAt(bytes, 4) == 80877102,
                        what + ": closed without an ErrorResponse for " + hex(bytes));
                return;
            }
            // Still open: every complete packet was answered ('N', an MD5 challenge, …) and the
            // rest is an incomplete packet that pwgate waits for.
            for (Reply r : replies) {
                assertTrue(r.tag() == 'N' || r.tag() == 'R' || r.tag() == 'v', what + ": unexpected reply " + (char) r.tag());
            }
        } catch (AssertionError e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(what + ": " + t + " for " + hex(bytes), t);
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    // ------------------------------------------------------------------ authentication state

    @Test
    void garbageAfterTheMd5ChallengeIsRefusedWith08P01() {
        Random rnd = new Random(SEED + 2);
        byte[] goodPassword = tagged('p', (Md5.hash("secret", "app") + "\0").getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < CASES; i++) {
            byte[] bytes;
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    bytes = new byte[5 + rnd.nextInt(60)];
                    rnd.nextBytes(bytes);
                }
                case 1 -> {
                    byte[] body = new byte[rnd.nextInt(40)];
                    rnd.nextBytes(body);
                    bytes = tagged(rnd.nextBoolean() ? 'p' : (byte) rnd.nextInt(256), body);
                }
                default -> bytes = Mutator.mutate(goodPassword, rnd);
            }
            String what = "auth case " + i + " seed " + SEED + " bytes " + hex(bytes);
            EmbeddedChannel ch = client(CAP, null);
            try {
                ch.writeInbound(Unpooled.wrappedBuffer(encode(new StartupRequest.StartupMessage(3, 0, Map.of("user", "app")))));
                List<Reply> challenge = Reply.parseAll(outbound(ch));
                assertEquals('R', challenge.get(0).tag(), what);
                ch.writeInbound(Unpooled.wrappedBuffer(bytes));
                ch.runPendingTasks();
                ch.checkException();
                List<Reply> replies = Reply.parseAll(outbound(ch));
                // Before the client has authenticated, the decoder's cap is the smaller pre-auth one.
                long preAuthCap = Math.min(CAP, FrameDecoder.MAX_UNAUTHENTICATED_MESSAGE);
                boolean complete = bytes.length >= 5 && intAt(bytes, 1) >= 4 && intAt(bytes, 1) - 4L <= preAuthCap
                        && bytes.length >= 1 + intAt(bytes, 1);
                boolean badLength = bytes.length >= 5 && (intAt(bytes, 1) < 4 || intAt(bytes, 1) - 4L > preAuthCap);
                if (!complete && !badLength) {
                    assertTrue(replies.isEmpty() && ch.isActive(), what + ": an incomplete message must be waited for");
                    continue;
                }
                if (replies.isEmpty() && ch.isActive()) {
                    // A correct password: the backend login is under way (and will fail on port 1).
                    assertTrue(bytes[0] == 'p', what);
                    continue;
                }
                assertFalse(replies.isEmpty(), what + ": closed without an ErrorResponse");
                Reply last = replies.get(replies.size() - 1);
                assertEquals('E', last.tag(), what);
                String code = last.field('C');
                String expected = bytes[0] == 'p' && !badLength ? "08P01 or 28P01" : "08P01";
                assertTrue(code.equals("08P01") || (expected.contains("28P01") && code.equals("28P01")),
                        what + ": SQLSTATE " + code + ", expected " + expected);
                assertFalse(ch.isActive(), what + ": open after a fatal error");
            } catch (AssertionError e) {
                throw e;
            } catch (Throwable t) {
                throw new AssertionError(what + ": " + t, t);
            } finally {
                ch.finishAndReleaseAll();
            }
        }
    }

    // ------------------------------------------------------------------ memory

    @Test
    void aHeaderAnnouncingOneGibibyteIsRefusedWithoutBuffering() {
        RecordingAllocator alloc = new RecordingAllocator();
        EmbeddedChannel ch = client(64L << 20, alloc);
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(encode(new StartupRequest.StartupMessage(3, 0, Map.of("user", "app")))));
            outbound(ch);
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'p', 0x40, 0, 0, 0}));
            if (ch.isActive()) {
                ch.writeInbound(Unpooled.wrappedBuffer(new byte[4096]));
            }
            List<Reply> replies = Reply.parseAll(outbound(ch));
            assertEquals("08P01", replies.get(replies.size() - 1).field('C'));
            assertFalse(ch.isActive());
            assertTrue(alloc.largest() < 64 * 1024, "largest allocation " + alloc.largest() + " bytes");
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /**
     * Before authentication a client may only send a password (PostgreSQL reads it with a limit of
     * a few kilobytes). A header announcing a large message under max_message_size must not make
     * pwgate reserve that much memory for a client that sends 5 + 16 bytes: with 1,000 allowed
     * clients and a 64 MiB cap, that is 64 GB on demand, before any password check.
     */
    @Test
    void anUnauthenticatedClientCannotMakePwgateReserveTheAnnouncedSize() {
        RecordingAllocator alloc = new RecordingAllocator();
        EmbeddedChannel ch = client(64L << 20, alloc);
        try {
            ch.writeInbound(Unpooled.wrappedBuffer(encode(new StartupRequest.StartupMessage(3, 0, Map.of("user", "app")))));
            outbound(ch);
            int announced = 60 << 20;
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'p', (byte) (announced >>> 24), (byte) (announced >>> 16),
                    (byte) (announced >>> 8), (byte) announced}));
            // pwgate may refuse the header at once (it does: 08P01 above the pre-auth cap) or wait
            // for more bytes; either way it must not reserve the announced size.
            if (ch.isActive()) {
                ch.writeInbound(Unpooled.wrappedBuffer(new byte[16]));
            }
            if (ch.isActive()) {
                ch.writeInbound(Unpooled.wrappedBuffer(new byte[16]));
            }
            int largest = alloc.largest();
            assertTrue(largest < 1 << 20, "an unauthenticated client with 37 bytes sent made pwgate allocate "
                    + largest + " bytes at once");
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, String> params(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static byte[] encode(StartupRequest r) {
        ByteBuf b = Unpooled.buffer();
        StartupCodec.encode(r, b);
        byte[] bytes = ByteBufUtil.getBytes(b);
        b.release();
        return bytes;
    }

    static byte[] tagged(int tag, byte[] body) {
        byte[] out = new byte[5 + body.length];
        out[0] = (byte) tag;
        int len = body.length + 4;
        out[1] = (byte) (len >>> 24);
        out[2] = (byte) (len >>> 16);
        out[3] = (byte) (len >>> 8);
        out[4] = (byte) len;
        System.arraycopy(body, 0, out, 5, body.length);
        return out;
    }

    static int intAt(byte[] b, int i) {
        return ((b[i] & 0xFF) << 24) | ((b[i + 1] & 0xFF) << 16) | ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
    }

    static String hex(byte[] b) {
        return ByteBufUtil.hexDump(b, 0, Math.min(b.length, 96)) + (b.length > 96 ? "…" : "");
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

    /** One message pwgate wrote: its tag and body; 'N' alone is the one-byte SSL/GSS answer. */
    record Reply(byte tag, byte[] body) {
        static List<Reply> parseAll(byte[] bytes) {
            List<Reply> out = new ArrayList<>();
            int i = 0;
            while (i < bytes.length) {
                if (bytes[i] == 'N' && (bytes.length - i < 5 || intAt(bytes, i + 1) > bytes.length)) {
                    out.add(new Reply((byte) 'N', new byte[0]));
                    i++;
                    continue;
                }
                if (bytes.length - i < 5) {
                    fail("truncated reply: " + hex(bytes));
                }
                int len = intAt(bytes, i + 1);
                if (len < 4 || i + 1 + len > bytes.length) {
                    fail("malformed reply: " + hex(bytes));
                }
                byte[] body = new byte[len - 4];
                System.arraycopy(bytes, i + 5, body, 0, body.length);
                out.add(new Reply(bytes[i], body));
                i += 1 + len;
            }
            return out;
        }

        /** A field of this ErrorResponse, read by pwgate's own codec (fixture-tested in CodecTest); "" when absent. */
        String field(char code) {
            return BackendCodec.decode(new Frame(tag, Unpooled.wrappedBuffer(body))) instanceof BackendMessage.ErrorResponse e
                    ? e.fields().getOrDefault(code, "") : "";
        }
    }
}
