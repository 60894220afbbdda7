package org.pwgate.proxy.gate;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.pwgate.proxy.protocol.Frame;

/** Readable one-line renderings of protocol frames, for assertions. */
final class Describe {
    private Describe() {}

    static String frontend(Frame f) {
        ByteBuf b = f.body().duplicate();
        return switch (f.tag()) {
            case 'Q' -> "Q " + cstr(b);
            case 'P' -> "P " + name(cstr(b)) + " " + cstr(b);
            case 'B' -> "B " + name(cstr(b)) + " " + name(cstr(b));
            case 'E' -> "E " + name(cstr(b));
            case 'D' -> "D " + (char) b.readByte() + " " + name(cstr(b));
            case 'C' -> "C " + (char) b.readByte() + " " + name(cstr(b));
            default -> String.valueOf((char) f.tag());
        };
    }

    static String backend(Frame f) {
        ByteBuf b = f.body().duplicate();
        return switch (f.tag()) {
            case 'C' -> "CommandComplete " + cstr(b);
            case 'Z' -> "ReadyForQuery " + (char) b.readByte();
            case 'E', 'N' -> (f.tag() == 'E' ? "Error" : "Notice") + fields(b);
            case 'D' -> "DataRow";
            case 'T' -> "RowDescription";
            case 't' -> "ParameterDescription";
            case 'n' -> "NoData";
            case '1' -> "ParseComplete";
            case '2' -> "BindComplete";
            case '3' -> "CloseComplete";
            case 'I' -> "EmptyQueryResponse";
            case 's' -> "PortalSuspended";
            case 'G' -> "CopyInResponse";
            case 'H' -> "CopyOutResponse";
            case 'd' -> "CopyData";
            case 'c' -> "CopyDone";
            case 'S' -> "ParameterStatus " + cstr(b) + "=" + cstr(b);
            default -> String.valueOf((char) f.tag());
        };
    }

    private static String name(String n) {
        return n.isEmpty() ? "''" : n;
    }

    private static String fields(ByteBuf b) {
        StringBuilder sb = new StringBuilder();
        while (b.isReadable()) {
            byte code = b.readByte();
            if (code == 0) {
                break;
            }
            sb.append(' ').append((char) code).append('=').append(cstr(b));
        }
        return sb.toString();
    }

    private static String cstr(ByteBuf b) {
        int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
        String s = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
        b.readerIndex(end + 1);
        return s;
    }
}
