package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationCleartextPassword;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationMd5Password;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationOk;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationOther;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationSasl;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.BindComplete;
import org.pwgate.proxy.protocol.BackendMessage.CommandComplete;
import org.pwgate.proxy.protocol.BackendMessage.DataRow;
import org.pwgate.proxy.protocol.BackendMessage.EmptyQueryResponse;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.NegotiateProtocolVersion;
import org.pwgate.proxy.protocol.BackendMessage.NoData;
import org.pwgate.proxy.protocol.BackendMessage.NoticeResponse;
import org.pwgate.proxy.protocol.BackendMessage.Other;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.BackendMessage.ParseComplete;
import org.pwgate.proxy.protocol.BackendMessage.ReadyForQuery;
import org.pwgate.proxy.protocol.BackendMessage.RowDescription;

/**
 * Backend messages, both ways. Pure functions over ByteBuf: decoding reads a frame's body without
 * moving its indexes (the frame may still be forwarded); encoding writes tag, length and body.
 */
public final class BackendCodec {
    private BackendCodec() {}

    public static BackendMessage decode(Frame frame) {
        ByteBuf in = frame.body().duplicate();
        return switch (frame.tag()) {
            case Tag.AUTHENTICATION -> decodeAuthentication(in);
            case Tag.PARAMETER_STATUS -> new ParameterStatus(Wire.readCString(in), Wire.readCString(in));
            case Tag.BACKEND_KEY_DATA -> new BackendKeyData(Wire.readInt(in), Wire.readInt(in));
            case Tag.READY_FOR_QUERY -> {
                Wire.need(in, 1);
                yield new ReadyForQuery(in.readByte());
            }
            case Tag.ERROR_RESPONSE -> new ErrorResponse(decodeFields(in));
            case Tag.NOTICE_RESPONSE -> new NoticeResponse(decodeFields(in));
            case Tag.ROW_DESCRIPTION -> decodeRowDescription(in);
            case Tag.DATA_ROW -> decodeDataRow(in);
            case Tag.COMMAND_COMPLETE -> new CommandComplete(Wire.readCString(in));
            case Tag.PARSE_COMPLETE -> new ParseComplete();
            case Tag.BIND_COMPLETE -> new BindComplete();
            case Tag.NO_DATA -> new NoData();
            case Tag.EMPTY_QUERY_RESPONSE -> new EmptyQueryResponse();
            case Tag.NEGOTIATE_PROTOCOL_VERSION -> {
                int minor = Wire.readInt(in);
                int n = Wire.readInt(in);
                List<String> options = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    options.add(Wire.readCString(in));
                }
                yield new NegotiateProtocolVersion(minor, options);
            }
            default -> new Other(frame.tag());
        };
    }

    /** Just the severity of an ErrorResponse body (field V, else S). */
    public static String errorSeverity(ByteBuf body) {
        Map<Character, String> fields = decodeFields(body.duplicate());
        return fields.getOrDefault('V', fields.getOrDefault('S', ""));
    }

    /**
     * True for an ErrorResponse body of severity FATAL or PANIC (field V, else S). Reads in place,
     * allocates only the severity string and never throws: a malformed body is simply not fatal.
     */
    public static boolean isFatalError(ByteBuf body) {
        String severity = null;
        int i = body.readerIndex();
        int end = body.writerIndex();
        while (i < end) {
            byte code = body.getByte(i);
            if (code == 0) {
                break;
            }
            int valueEnd = body.indexOf(i + 1, end, (byte) 0);
            if (valueEnd < 0) {
                break;
            }
            if (code == 'V' || (code == 'S' && severity == null)) {
                severity = body.toString(i + 1, valueEnd - i - 1, java.nio.charset.StandardCharsets.US_ASCII);
            }
            i = valueEnd + 1;
        }
        return "FATAL".equals(severity) || "PANIC".equals(severity);
    }

    private static BackendMessage decodeAuthentication(ByteBuf in) {
        int code = Wire.readInt(in);
        switch (code) {
            case BackendMessage.AUTH_OK:
                return new AuthenticationOk();
            case BackendMessage.AUTH_CLEARTEXT:
                return new AuthenticationCleartextPassword();
            case BackendMessage.AUTH_MD5:
                Wire.need(in, 4);
                byte[] salt = new byte[4];
                in.readBytes(salt);
                return new AuthenticationMd5Password(salt);
            case BackendMessage.AUTH_SASL:
                List<String> mechanisms = new ArrayList<>();
                while (in.isReadable() && in.getByte(in.readerIndex()) != 0) {
                    mechanisms.add(Wire.readCString(in));
                }
                return new AuthenticationSasl(mechanisms);
            default:
                return new AuthenticationOther(code);
        }
    }

    private static Map<Character, String> decodeFields(ByteBuf in) {
        Map<Character, String> fields = new LinkedHashMap<>();
        while (in.isReadable()) {
            byte code = in.readByte();
            if (code == 0) {
                break;
            }
            fields.put((char) code, Wire.readCString(in));
        }
        return fields;
    }

    private static RowDescription decodeRowDescription(ByteBuf in) {
        int n = Short.toUnsignedInt(Wire.readShort(in));
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            names.add(Wire.readCString(in));
            Wire.need(in, 18);
            in.skipBytes(18); // table oid, column number, type oid, type size, type modifier, format
        }
        return new RowDescription(names);
    }

    private static DataRow decodeDataRow(ByteBuf in) {
        int n = Short.toUnsignedInt(Wire.readShort(in));
        List<Optional<String>> values = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = Wire.readInt(in);
            if (len < 0) {
                values.add(Optional.empty());
            } else {
                Wire.need(in, len);
                values.add(Optional.of(in.readCharSequence(len, StandardCharsets.UTF_8).toString()));
            }
        }
        return new DataRow(values);
    }

    /** Encodes a message pwgate produces itself. */
    public static void encode(BackendMessage message, ByteBuf out) {
        if (message instanceof AuthenticationOk) {
            out.writeByte(Tag.AUTHENTICATION).writeInt(8).writeInt(BackendMessage.AUTH_OK);
        } else if (message instanceof AuthenticationMd5Password m) {
            out.writeByte(Tag.AUTHENTICATION).writeInt(12).writeInt(BackendMessage.AUTH_MD5).writeBytes(m.salt());
        } else if (message instanceof AuthenticationCleartextPassword) {
            out.writeByte(Tag.AUTHENTICATION).writeInt(8).writeInt(BackendMessage.AUTH_CLEARTEXT);
        } else if (message instanceof AuthenticationSasl m) {
            int at = Wire.begin(out, Tag.AUTHENTICATION);
            out.writeInt(BackendMessage.AUTH_SASL);
            m.mechanisms().forEach(s -> Wire.writeCString(out, s));
            out.writeByte(0);
            Wire.end(out, at);
        } else if (message instanceof AuthenticationOther m) {
            out.writeByte(Tag.AUTHENTICATION).writeInt(8).writeInt(m.code());
        } else if (message instanceof ParameterStatus m) {
            int at = Wire.begin(out, Tag.PARAMETER_STATUS);
            Wire.writeCString(out, m.name());
            Wire.writeCString(out, m.value());
            Wire.end(out, at);
        } else if (message instanceof BackendKeyData m) {
            out.writeByte(Tag.BACKEND_KEY_DATA).writeInt(12).writeInt(m.processId()).writeInt(m.secretKey());
        } else if (message instanceof ReadyForQuery m) {
            out.writeByte(Tag.READY_FOR_QUERY).writeInt(5).writeByte(m.status());
        } else if (message instanceof ErrorResponse m) {
            encodeFields(Tag.ERROR_RESPONSE, m.fields(), out);
        } else if (message instanceof NoticeResponse m) {
            encodeFields(Tag.NOTICE_RESPONSE, m.fields(), out);
        } else if (message instanceof CommandComplete m) {
            int at = Wire.begin(out, Tag.COMMAND_COMPLETE);
            Wire.writeCString(out, m.commandTag());
            Wire.end(out, at);
        } else if (message instanceof NegotiateProtocolVersion m) {
            int at = Wire.begin(out, Tag.NEGOTIATE_PROTOCOL_VERSION);
            out.writeInt(m.newestMinorVersion()).writeInt(m.unrecognisedOptions().size());
            m.unrecognisedOptions().forEach(s -> Wire.writeCString(out, s));
            Wire.end(out, at);
        } else if (message instanceof RowDescription m) {
            int at = Wire.begin(out, Tag.ROW_DESCRIPTION);
            out.writeShort(m.columnNames().size());
            for (String name : m.columnNames()) {
                Wire.writeCString(out, name);
                out.writeInt(0).writeShort(0).writeInt(25).writeShort(-1).writeInt(-1).writeShort(0); // text
            }
            Wire.end(out, at);
        } else if (message instanceof DataRow m) {
            int at = Wire.begin(out, Tag.DATA_ROW);
            out.writeShort(m.values().size());
            for (Optional<String> v : m.values()) {
                if (v.isEmpty()) {
                    out.writeInt(-1);
                } else {
                    byte[] b = v.get().getBytes(StandardCharsets.UTF_8);
                    out.writeInt(b.length).writeBytes(b);
                }
            }
            Wire.end(out, at);
        } else if (message instanceof ParseComplete) {
            out.writeByte(Tag.PARSE_COMPLETE).writeInt(4);
        } else if (message instanceof BindComplete) {
            out.writeByte(Tag.BIND_COMPLETE).writeInt(4);
        } else if (message instanceof NoData) {
            out.writeByte(Tag.NO_DATA).writeInt(4);
        } else if (message instanceof EmptyQueryResponse) {
            out.writeByte(Tag.EMPTY_QUERY_RESPONSE).writeInt(4);
        } else if (message instanceof Other m) {
            out.writeByte(m.tag()).writeInt(4);
        }
    }

    /** Convenience for handlers: one message in a fresh buffer from {@code alloc}. */
    public static ByteBuf encode(BackendMessage message, ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer();
        encode(message, out);
        return out;
    }

    private static void encodeFields(byte tag, Map<Character, String> fields, ByteBuf out) {
        int at = Wire.begin(out, tag);
        fields.forEach((code, value) -> {
            out.writeByte(code);
            Wire.writeCString(out, value);
        });
        out.writeByte(0);
        Wire.end(out, at);
    }
}
