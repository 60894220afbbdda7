package org.pwgate.proxy.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.pwgate.config.ConfigLoader;
import org.pwgate.config.PwgateConfig;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.session.SessionState;

/**
 * Drives one gate with real protocol bytes in pooled direct buffers (the relay's kind), records
 * what it sends each way as readable strings, and checks at the end that every buffer was released.
 */
final class GateDriver implements AutoCloseable {
    private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    final AtomicReference<PwgateConfig> config = new AtomicReference<>();
    final SessionState session = new SessionState(7, new InetSocketAddress("127.0.0.1", 40000), "alice", "appdb");
    final RecordingClassifier classifier = new RecordingClassifier();
    final PasswordCommandGate gate;
    private final List<ByteBuf> created = new ArrayList<>();
    private final List<Frame> toBackend = new ArrayList<>();
    private final List<Frame> toClient = new ArrayList<>();
    /** Every frame the gate handed on, to compare identity and check release. */
    final List<Frame> forwarded = new ArrayList<>();
    /** Analyses the gate started ahead ({@link SessionGate#prepare}), run when the test says. */
    final ArrayDeque<Runnable> analysisQueue = new ArrayDeque<>();

    GateDriver(boolean restrict) {
        restrict(restrict);
        gate = new PasswordCommandGate(config::get, session, classifier,
                new AuditLog(Clock.fixed(Instant.parse("2025-01-02T03:04:05Z"), ZoneOffset.UTC),
                        new org.pwgate.proxy.metrics.PwgateMetrics()), analysisQueue::add);
    }

    /** Runs the analyses started ahead, as the worker would; returns how many there were. */
    int runAnalyses() {
        int n = 0;
        for (Runnable r; (r = analysisQueue.poll()) != null; n++) {
            r.run();
        }
        return n;
    }

    void restrict(boolean on) {
        config.set(config(on, "[rdsadmin]"));
    }

    static PwgateConfig config(boolean on, String protectedRoles) {
        String yaml = """
                listen: { host: 127.0.0.1, port: 0 }
                backend: { host: 127.0.0.1, port: 5432 }
                auth: { source: auth_query, auth_user: pwgate_auth, auth_password: "x" }
                parameters: { rds.restrict_password_commands: %d }
                protected_roles: %s
                """.formatted(on ? 1 : 0, protectedRoles);
        try {
            return ConfigLoader.parse(yaml, Path.of("."), Optional.empty());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------ feeding

    GateDriver client(Frame... frames) {
        for (Frame f : frames) {
            gate.onClientFrame(f, out -> {
                forwarded.add(out);
                toBackend.add(out);
            });
        }
        return this;
    }

    GateDriver backend(Frame... frames) {
        for (Frame f : frames) {
            gate.onBackendFrame(f, out -> {
                forwarded.add(out);
                toClient.add(out);
            });
        }
        return this;
    }

    /** What went to the backend since the last call, described, and released. */
    List<String> sentToBackend() {
        return take(toBackend, true);
    }

    List<String> sentToClient() {
        return take(toClient, false);
    }

    /** The frames themselves (not released: the caller releases them). */
    List<Frame> rawToBackend() {
        List<Frame> out = new ArrayList<>(toBackend);
        toBackend.clear();
        return out;
    }

    List<Frame> rawToClient() {
        List<Frame> out = new ArrayList<>(toClient);
        toClient.clear();
        return out;
    }

    private static List<String> take(List<Frame> frames, boolean frontend) {
        List<String> out = new ArrayList<>();
        for (Frame f : frames) {
            out.add(frontend ? Describe.frontend(f) : Describe.backend(f));
            f.release();
        }
        frames.clear();
        return out;
    }

    @Override
    public void close() {
        take(toBackend, true);
        take(toClient, false);
        gate.close();
        for (ByteBuf b : created) {
            assertEquals(0, b.refCnt(), "a buffer the test made was not released");
        }
        for (Frame f : forwarded) {
            assertEquals(0, f.body().refCnt(), "a buffer the gate sent was not released");
        }
    }

    // ------------------------------------------------------------ frames

    Frame frame(char tag, ByteBuf body) {
        created.add(body);
        return new Frame((byte) tag, body);
    }

    private ByteBuf buf() {
        return ALLOC.directBuffer();
    }

    private static void cstr(ByteBuf b, String s) {
        b.writeCharSequence(s, StandardCharsets.UTF_8);
        b.writeByte(0);
    }

    Frame query(String sql) {
        ByteBuf b = buf();
        cstr(b, sql);
        return frame('Q', b);
    }

    Frame parse(String name, String sql) {
        ByteBuf b = buf();
        cstr(b, name);
        cstr(b, sql);
        b.writeShort(0);
        return frame('P', b);
    }

    Frame bind(String portal, String statement) {
        ByteBuf b = buf();
        cstr(b, portal);
        cstr(b, statement);
        b.writeShort(0).writeShort(0).writeShort(0);
        return frame('B', b);
    }

    Frame execute(String portal) {
        ByteBuf b = buf();
        cstr(b, portal);
        b.writeInt(0);
        return frame('E', b);
    }

    Frame describe(char kind, String name) {
        ByteBuf b = buf();
        b.writeByte(kind);
        cstr(b, name);
        return frame('D', b);
    }

    Frame closeMessage(char kind, String name) {
        ByteBuf b = buf();
        b.writeByte(kind);
        cstr(b, name);
        return frame('C', b);
    }

    Frame sync() {
        return frame('S', buf());
    }

    Frame flush() {
        return frame('H', buf());
    }

    Frame copyData(String data) {
        ByteBuf b = buf();
        b.writeCharSequence(data, StandardCharsets.UTF_8);
        return frame('d', b);
    }

    Frame copyDone() {
        return frame('c', buf());
    }

    Frame terminate() {
        return frame('X', buf());
    }

    // backend

    Frame parseComplete() {
        return frame('1', buf());
    }

    Frame bindComplete() {
        return frame('2', buf());
    }

    Frame closeComplete() {
        return frame('3', buf());
    }

    Frame noData() {
        return frame('n', buf());
    }

    Frame parameterDescription() {
        ByteBuf b = buf();
        b.writeShort(0);
        return frame('t', b);
    }

    Frame rowDescription() {
        ByteBuf b = buf();
        b.writeShort(1);
        cstr(b, "x");
        b.writeInt(0).writeShort(0).writeInt(23).writeShort(4).writeInt(-1).writeShort(0);
        return frame('T', b);
    }

    Frame dataRow(String value) {
        ByteBuf b = buf();
        b.writeShort(1);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        b.writeInt(v.length).writeBytes(v);
        return frame('D', b);
    }

    Frame commandComplete(String tag) {
        ByteBuf b = buf();
        cstr(b, tag);
        return frame('C', b);
    }

    Frame ready(char status) {
        ByteBuf b = buf();
        b.writeByte(status);
        return frame('Z', b);
    }

    Frame emptyQuery() {
        return frame('I', buf());
    }

    Frame portalSuspended() {
        return frame('s', buf());
    }

    Frame copyInResponse() {
        ByteBuf b = buf();
        b.writeByte(0).writeShort(0);
        return frame('G', b);
    }

    Frame copyOutResponse() {
        ByteBuf b = buf();
        b.writeByte(0).writeShort(0);
        return frame('H', b);
    }

    Frame backendCopyData(String data) {
        return copyData(data);
    }

    Frame backendCopyDone() {
        return frame('c', buf());
    }

    Frame notice(String message) {
        ByteBuf b = buf();
        b.writeByte('S');
        cstr(b, "NOTICE");
        b.writeByte('V');
        cstr(b, "NOTICE");
        b.writeByte('C');
        cstr(b, "00000");
        b.writeByte('M');
        cstr(b, message);
        b.writeByte(0);
        return frame('N', b);
    }

    Frame parameterStatus(String name, String value) {
        ByteBuf b = buf();
        cstr(b, name);
        cstr(b, value);
        return frame('S', b);
    }

    /** An ErrorResponse as PL/pgSQL's RAISE makes it: with W (CONTEXT), F, L and R. */
    Frame error(String severity, String code, String message) {
        ByteBuf b = buf();
        String[][] fields = {{"S", severity}, {"V", severity}, {"C", code}, {"M", message},
                {"W", "PL/pgSQL function inline_code_block line 1 at RAISE"}, {"F", "pl_exec.c"}, {"L", "3911"},
                {"R", "exec_stmt_raise"}};
        for (String[] f : fields) {
            b.writeByte(f[0].charAt(0));
            cstr(b, f[1]);
        }
        b.writeByte(0);
        return frame('E', b);
    }

    Frame error(String code, String message) {
        return error("ERROR", code, message);
    }
}
