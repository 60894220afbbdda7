package org.pwgate.proxy.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.TestConfigs;
import org.pwgate.proxy.gate.GateFactory;
import org.pwgate.proxy.gate.SessionGate;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrontendCodec;
import org.pwgate.proxy.protocol.FrontendMessage;
import org.pwgate.proxy.session.SessionState;

/**
 * Random and mutated client frames through the session's gate (the code that decodes client
 * bodies inside an established session) in every state: ready, inside an extended batch (after
 * Parse/Bind, before Sync) and inside COPY IN, with the restriction on and off.
 *
 * <p>Inside a session pwgate is a relay: a malformed message the gate does not need is forwarded
 * and the backend answers it with its own 08P01 (checked end to end in ProtocolFuzzIT). What must
 * hold here: the gate never throws on any body (an exception in the relay closes the client
 * without a protocol answer), every frame it is given is either passed on live or released (no
 * leak, PARANOID), and after the fuzz it still answers the backend's messages.
 */
@ExtendWith(QuietLogs.class)
class GateFuzzTest {
    private static final long SEED = Long.getLong("pwgate.fuzz.seed", 20240608L);
    private static final int SESSIONS = Integer.getInteger("pwgate.fuzz.sessions", 300);
    private static final byte[] TAGS = {'Q', 'P', 'B', 'E', 'D', 'C', 'S', 'H', 'F', 'd', 'c', 'f', 'X', 'p', 0, (byte) 0xFF};
    private static final String[] SQL = {
        "SELECT 1", "ALTER ROLE app PASSWORD 'x'", "CREATE ROLE r LOGIN PASSWORD 'md5" + "0".repeat(32) + "'",
        "DO $$BEGIN EXECUTE 'ALTER USER app PASSWORD ''y'''; END$$", "GRANT rds_password TO app", "COPY t FROM STDIN",
        "SET client_encoding TO 'SJIS'", "SET standard_conforming_strings = off", "/* unterminated", "E'\\", "$a$ unterminated",
        "ALTER ROLE \"rdsadmin\" RENAME TO x; SELECT 2", ""};

    private enum Phase { READY, EXTENDED_BATCH, COPY_IN }

    private static PwgateConfig config(boolean restrict) {
        PwgateConfig c = TestConfigs.embedded(10, Duration.ofSeconds(5));
        return new PwgateConfig(c.listen(), c.backend(), c.auth(), c.limits(),
                new PwgateConfig.Parameters(restrict, Map.of("rds.restrict_password_commands", restrict ? "1" : "0")),
                c.gateRole(), c.protectedRoles(), c.bootstrap(), c.tls(), c.admin(), c.logging(), c.source());
    }

    @Test
    void randomClientFramesInEveryStateNeverThrowOrLeak() {
        Random rnd = new Random(SEED);
        for (int s = 0; s < SESSIONS; s++) {
            boolean restrict = rnd.nextBoolean();
            Phase phase = Phase.values()[rnd.nextInt(Phase.values().length)];
            long sessionSeed = rnd.nextLong();
            runSession(restrict, phase, sessionSeed, "session " + s + " (seed " + SEED + ", restrict " + restrict
                    + ", " + phase + ", session seed " + sessionSeed + ")");
        }
    }

    private static void runSession(boolean restrict, Phase phase, long seed, String what) {
        Random rnd = new Random(seed);
        PwgateConfig cfg = config(restrict);
        SessionState state = new SessionState(1, new InetSocketAddress("127.0.0.1", 5555), "app", "postgres");
        state.onParameterStatus("server_version", "17.6");
        state.onParameterStatus("client_encoding", "UTF8");
        state.onParameterStatus("standard_conforming_strings", "on");
        state.onParameterStatus("session_authorization", "app");
        SessionGate gate = new GateFactory(() -> cfg).forSession(state);
        List<Frame> toBackend = new ArrayList<>();
        List<Frame> toClient = new ArrayList<>();
        Consumer<Frame> backend = f -> {
            assertTrue(f.body().refCnt() > 0, what + ": a released frame was passed on");
            toBackend.add(f);
        };
        Consumer<Frame> client = f -> {
            assertTrue(f.body().refCnt() > 0, what + ": a released frame was passed on");
            toClient.add(f);
        };
        try {
            switch (phase) {
                case READY -> { }
                case EXTENDED_BATCH -> {
                    gate.onClientFrame(frame('P', parse("", SQL[rnd.nextInt(SQL.length)])), backend);
                    gate.onClientFrame(frame('B', bind("", "")), backend);
                }
                case COPY_IN -> {
                    gate.onClientFrame(frame('Q', query("COPY t FROM STDIN")), backend);
                    gate.onBackendFrame(frame('G', new byte[] {0, 0, 1, 0, 0}), client);
                }
            }
            int n = 1 + rnd.nextInt(20);
            for (int i = 0; i < n; i++) {
                gate.onClientFrame(randomFrame(rnd), backend);
            }
            // The backend still gets answered in order: an error, then ReadyForQuery.
            gate.onBackendFrame(frame('E', error("08P01", "invalid message format")), client);
            gate.onBackendFrame(frame('Z', new byte[] {'I'}), client);
            gate.onClientFrame(frame('Q', query("SELECT 1")), backend);
        } catch (AssertionError e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(what + ": the gate threw " + t, t);
        } finally {
            gate.close();
            toBackend.forEach(Frame::release);
            toClient.forEach(Frame::release);
        }
    }

    private static Frame randomFrame(Random rnd) {
        byte tag = TAGS[rnd.nextInt(TAGS.length)];
        byte[] body = switch (rnd.nextInt(4)) {
            case 0 -> {
                byte[] b = new byte[rnd.nextInt(48)];
                rnd.nextBytes(b);
                yield b;
            }
            case 1 -> Mutator.mutate(validBody(tag, rnd), rnd);
            default -> validBody(tag, rnd);
        };
        return frame(tag, body);
    }

    private static byte[] validBody(byte tag, Random rnd) {
        String sql = SQL[rnd.nextInt(SQL.length)];
        String name = rnd.nextInt(4) == 0 ? "pwgate_guard" : rnd.nextBoolean() ? "" : "s" + rnd.nextInt(3);
        return switch (tag) {
            case 'Q' -> query(sql);
            case 'P' -> parse(name, sql);
            case 'B' -> bind(rnd.nextBoolean() ? "" : name, name);
            case 'E' -> cstrings(name, null, 0);
            case 'D', 'C' -> (rnd.nextBoolean() ? "S" + name : "P" + name + "\0").getBytes(StandardCharsets.UTF_8);
            case 'd' -> "1\tx\n".getBytes(StandardCharsets.UTF_8);
            case 'f' -> "abort\0".getBytes(StandardCharsets.UTF_8);
            default -> new byte[0];
        };
    }

    private static byte[] query(String sql) {
        return encode(new FrontendMessage.Query(sql));
    }

    private static byte[] parse(String name, String sql) {
        return encode(new FrontendMessage.Parse(name, sql, new int[0]));
    }

    private static byte[] bind(String portal, String statement) {
        return encode(new FrontendMessage.Bind(portal, statement, List.of(Optional.of("1"))));
    }

    /** A body as FrontendCodec writes it, without tag and length. */
    private static byte[] encode(FrontendMessage m) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer();
        try {
            FrontendCodec.encode(m, b);
            byte[] out = new byte[b.readableBytes() - 5];
            b.getBytes(5, out);
            return out;
        } finally {
            b.release();
        }
    }

    private static byte[] cstrings(String name, String unused, int maxRows) {
        byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[n.length + 4];
        System.arraycopy(n, 0, out, 0, n.length);
        out[out.length - 1] = (byte) maxRows;
        return out;
    }

    private static byte[] error(String code, String message) {
        return ("SERROR\0VERROR\0C" + code + "\0M" + message + "\0\0").getBytes(StandardCharsets.UTF_8);
    }

    private static Frame frame(int tag, byte[] body) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(body.length);
        b.writeBytes(body);
        return new Frame((byte) tag, b);
    }
}
