package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Field primitives shared by the codecs: C strings, length words. Pure, package-private. */
final class Wire {
    private Wire() {}

    /** Reads a NUL-terminated UTF-8 string and moves past its terminator. */
    static String readCString(ByteBuf in) {
        int end = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new MalformedMessageException("string without terminator");
        }
        String s = in.toString(in.readerIndex(), end - in.readerIndex(), StandardCharsets.UTF_8);
        in.readerIndex(end + 1);
        return s;
    }

    static void writeCString(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.UTF_8);
        out.writeByte(0);
    }

    static int readInt(ByteBuf in) {
        need(in, 4);
        return in.readInt();
    }

    static short readShort(ByteBuf in) {
        need(in, 2);
        return in.readShort();
    }

    static void need(ByteBuf in, int n) {
        if (in.readableBytes() < n) {
            throw new MalformedMessageException("message too short");
        }
    }

    /** Writes the tag and a placeholder length; returns where the length goes. */
    static int begin(ByteBuf out, byte tag) {
        out.writeByte(tag);
        int at = out.writerIndex();
        out.writeInt(0);
        return at;
    }

    /** Fills in the length word written by {@link #begin} (it counts itself, not the tag). */
    static void end(ByteBuf out, int lengthAt) {
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
    }
}
