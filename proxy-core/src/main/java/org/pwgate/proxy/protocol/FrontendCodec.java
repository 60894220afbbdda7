package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.pwgate.proxy.protocol.FrontendMessage.Bind;
import org.pwgate.proxy.protocol.FrontendMessage.Execute;
import org.pwgate.proxy.protocol.FrontendMessage.Parse;
import org.pwgate.proxy.protocol.FrontendMessage.PasswordMessage;
import org.pwgate.proxy.protocol.FrontendMessage.Query;
import org.pwgate.proxy.protocol.FrontendMessage.Sync;
import org.pwgate.proxy.protocol.FrontendMessage.Terminate;

/**
 * Frontend messages, both ways. Pure functions over ByteBuf: decoding reads a body without moving
 * its indexes (the frame may be forwarded afterwards); encoding writes tag, length and body.
 */
public final class FrontendCodec {
    private FrontendCodec() {}

    public static PasswordMessage decodePassword(ByteBuf body) {
        return new PasswordMessage(Wire.readCString(body.duplicate()));
    }

    public static Query decodeQuery(ByteBuf body) {
        return new Query(Wire.readCString(body.duplicate()));
    }

    public static Parse decodeParse(ByteBuf body) {
        ByteBuf in = body.duplicate();
        String name = Wire.readCString(in);
        String sql = Wire.readCString(in);
        int n = Short.toUnsignedInt(Wire.readShort(in));
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            types[i] = Wire.readInt(in);
        }
        return new Parse(name, sql, types);
    }

    public static void encode(FrontendMessage message, ByteBuf out) {
        if (message instanceof PasswordMessage m) {
            int at = Wire.begin(out, Tag.PASSWORD_MESSAGE);
            Wire.writeCString(out, m.password());
            Wire.end(out, at);
        } else if (message instanceof Query m) {
            int at = Wire.begin(out, Tag.QUERY);
            Wire.writeCString(out, m.sql());
            Wire.end(out, at);
        } else if (message instanceof Parse m) {
            int at = Wire.begin(out, Tag.PARSE);
            Wire.writeCString(out, m.name());
            Wire.writeCString(out, m.sql());
            int[] types = m.parameterTypes();
            out.writeShort(types.length);
            for (int t : types) {
                out.writeInt(t);
            }
            Wire.end(out, at);
        } else if (message instanceof Bind m) {
            int at = Wire.begin(out, Tag.BIND);
            Wire.writeCString(out, m.portal());
            Wire.writeCString(out, m.statement());
            out.writeShort(0); // all parameters in text format
            out.writeShort(m.parameters().size());
            for (Optional<String> p : m.parameters()) {
                if (p.isEmpty()) {
                    out.writeInt(-1);
                } else {
                    byte[] bytes = p.get().getBytes(StandardCharsets.UTF_8);
                    out.writeInt(bytes.length).writeBytes(bytes);
                }
            }
            out.writeShort(0); // all result columns in text format
            Wire.end(out, at);
        } else if (message instanceof Execute m) {
            int at = Wire.begin(out, Tag.EXECUTE);
            Wire.writeCString(out, m.portal());
            out.writeInt(m.maxRows());
            Wire.end(out, at);
        } else if (message instanceof Sync) {
            out.writeByte(Tag.SYNC).writeInt(4);
        } else if (message instanceof Terminate) {
            out.writeByte(Tag.TERMINATE).writeInt(4);
        }
    }
}
