package org.pwgate.proxy.gate;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import org.pwgate.proxy.protocol.Frame;

/**
 * The few wire encodings the gate needs: reading names out of Parse/Bind/Execute/Close bodies,
 * building the messages it injects, and rewriting ErrorResponse. Pure functions over ByteBuf.
 *
 * <p>These duplicate parts of {@code org.pwgate.proxy.protocol} (FrontendCodec, BackendCodec),
 * written here while that package was in progress; they can be merged into it.
 */
final class GateWire {
    private GateWire() {}

    /** Index of the NUL ending the C string that starts at {@code from}, or -1 when there is none. */
    static int nul(ByteBuf body, int from) {
        return body.indexOf(from, body.writerIndex(), (byte) 0);
    }

    /**
     * The C string at {@code from} as a name key. Names are compared as bytes, so they are decoded
     * as ISO-8859-1 (one char per byte, lossless whatever the client encoding). Empty for the
     * unnamed statement or portal, without allocating.
     */
    static String name(ByteBuf body, int from) {
        int end = nul(body, from);
        if (end < 0) {
            end = body.writerIndex();
        }
        return end == from ? "" : body.toString(from, end - from, StandardCharsets.ISO_8859_1);
    }

    /** True when {@link #name} at {@code from} would be {@code expected} (ASCII), without decoding it. */
    static boolean nameIs(ByteBuf body, int from, String expected) {
        int n = expected.length();
        int end = body.writerIndex();
        if (from < 0 || from + n > end) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            if (body.getByte(from + i) != expected.charAt(i)) {
                return false;
            }
        }
        return from + n == end || body.getByte(from + n) == 0;
    }

    /** True when {@link #name} at {@code from} would be empty: the unnamed statement or portal. */
    static boolean isUnnamed(ByteBuf body, int from) {
        return from >= body.writerIndex() || body.getByte(from) == 0;
    }

    static int afterName(ByteBuf body, int from) {
        int end = nul(body, from);
        return end < 0 ? body.writerIndex() : end + 1;
    }

    /** Bytes of the C string at {@code from}, without its NUL (to the body's end when it has none). */
    static int cstringLength(ByteBuf body, int from) {
        int end = nul(body, from);
        return (end < 0 ? body.writerIndex() : end) - from;
    }

    private static void cstring(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.ISO_8859_1);
        out.writeByte(0);
    }

    /** Close ('C'): {@code kind} is 'S' (statement) or 'P' (portal). */
    static Frame close(ByteBufAllocator alloc, byte kind, String name) {
        ByteBuf b = alloc.buffer(2 + name.length());
        b.writeByte(kind);
        cstring(b, name);
        return new Frame((byte) 'C', b);
    }

    /** Parse ('P') with no parameter types; {@code sql} is ASCII. */
    static Frame parse(ByteBufAllocator alloc, String name, String sql) {
        ByteBuf b = alloc.buffer(name.length() + sql.length() + 4);
        cstring(b, name);
        b.writeCharSequence(sql, StandardCharsets.US_ASCII);
        b.writeByte(0);
        b.writeShort(0);
        return new Frame((byte) 'P', b);
    }

    /** Bind ('B') with no parameters and default result formats. */
    static Frame bind(ByteBufAllocator alloc, String portal, String statement) {
        ByteBuf b = alloc.buffer(portal.length() + statement.length() + 8);
        cstring(b, portal);
        cstring(b, statement);
        b.writeShort(0);
        b.writeShort(0);
        b.writeShort(0);
        return new Frame((byte) 'B', b);
    }

    /** Execute ('E') of a portal, all rows. */
    static Frame execute(ByteBufAllocator alloc, String portal) {
        ByteBuf b = alloc.buffer(portal.length() + 5);
        cstring(b, portal);
        b.writeInt(0);
        return new Frame((byte) 'E', b);
    }

    /** Terminate ('X'). */
    static Frame terminate(ByteBufAllocator alloc) {
        return new Frame((byte) 'X', alloc.buffer(0));
    }

    /** An ErrorResponse with only severity (S, V), SQLSTATE (C) and message (M); ASCII text. */
    static Frame error(ByteBufAllocator alloc, String severity, String sqlState, String message) {
        ByteBuf b = alloc.buffer(32 + message.length());
        field(b, 'S', severity);
        field(b, 'V', severity);
        field(b, 'C', sqlState);
        field(b, 'M', message);
        b.writeByte(0);
        return new Frame((byte) 'E', b);
    }

    private static void field(ByteBuf b, char code, String value) {
        b.writeByte(code);
        b.writeCharSequence(value, StandardCharsets.UTF_8);
        b.writeByte(0);
    }

    /**
     * The guard's ErrorResponse reduced to S, V, C and M, so that it reads as a native refusal: no
     * CONTEXT ('W') and no file/line/routine pointing into PL/pgSQL. Releases {@code error}.
     */
    static Frame stripToNative(Frame error) {
        ByteBuf in = error.body();
        ByteBuf out = in.alloc().buffer(in.readableBytes());
        int i = in.readerIndex();
        int end = in.writerIndex();
        while (i < end) {
            byte code = in.getByte(i);
            if (code == 0) {
                break;
            }
            int valueEnd = nul(in, i + 1);
            if (valueEnd < 0) {
                break;
            }
            if (code == 'S' || code == 'V' || code == 'C' || code == 'M') {
                out.writeBytes(in, i, valueEnd + 1 - i);
            }
            i = valueEnd + 1;
        }
        out.writeByte(0);
        error.release();
        return new Frame((byte) 'E', out);
    }

    /** True when a CommandComplete body holds exactly {@code tag} (ASCII) and its NUL. */
    static boolean commandTagIs(ByteBuf body, String tag) {
        int n = tag.length();
        if (body.readableBytes() != n + 1) {
            return false;
        }
        int r = body.readerIndex();
        for (int i = 0; i < n; i++) {
            if (body.getByte(r + i) != tag.charAt(i)) {
                return false;
            }
        }
        return body.getByte(r + n) == 0;
    }
}
