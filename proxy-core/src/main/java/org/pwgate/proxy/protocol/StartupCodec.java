package org.pwgate.proxy.protocol;

import io.netty.buffer.ByteBuf;
import java.util.LinkedHashMap;
import java.util.Map;
import org.pwgate.proxy.protocol.StartupRequest.CancelRequest;
import org.pwgate.proxy.protocol.StartupRequest.GssEncRequest;
import org.pwgate.proxy.protocol.StartupRequest.SslRequest;
import org.pwgate.proxy.protocol.StartupRequest.StartupMessage;
import org.pwgate.proxy.protocol.StartupRequest.UnsupportedProtocol;

/** Startup-phase packets, both ways. Pure functions; decoding leaves the buffer's indexes alone. */
public final class StartupCodec {
    private StartupCodec() {}

    /** Decodes a startup packet body (after the length word, starting with the request code). */
    public static StartupRequest decode(ByteBuf packetBody) {
        ByteBuf in = packetBody.duplicate();
        int code = Wire.readInt(in);
        switch (code) {
            case StartupRequest.SSL_REQUEST_CODE:
                return new SslRequest();
            case StartupRequest.GSSENC_REQUEST_CODE:
                return new GssEncRequest();
            case StartupRequest.CANCEL_REQUEST_CODE:
                if (in.readableBytes() != 8) {
                    throw new MalformedMessageException("CancelRequest of the wrong length");
                }
                return new CancelRequest(in.readInt(), in.readInt());
            default:
                break;
        }
        int major = code >>> 16;
        int minor = code & 0xFFFF;
        if (major != 3) {
            return new UnsupportedProtocol(code);
        }
        if (in.readableBytes() == 0 || in.getByte(in.writerIndex() - 1) != 0) {
            throw new MalformedMessageException("invalid startup packet layout: expected terminator as last byte");
        }
        Map<String, String> params = new LinkedHashMap<>();
        while (in.readableBytes() > 1) {
            String name = Wire.readCString(in);
            if (in.readableBytes() == 0) {
                throw new MalformedMessageException("invalid startup packet layout: parameter without value");
            }
            String value = Wire.readCString(in);
            if (name.isEmpty()) {
                throw new MalformedMessageException("invalid startup packet layout: empty parameter name");
            }
            params.put(name, value);
        }
        return new StartupMessage(major, minor, params);
    }

    /** Writes the packet including its length word. */
    public static void encode(StartupRequest request, ByteBuf out) {
        int at = out.writerIndex();
        out.writeInt(0);
        if (request instanceof SslRequest) {
            out.writeInt(StartupRequest.SSL_REQUEST_CODE);
        } else if (request instanceof GssEncRequest) {
            out.writeInt(StartupRequest.GSSENC_REQUEST_CODE);
        } else if (request instanceof CancelRequest r) {
            out.writeInt(StartupRequest.CANCEL_REQUEST_CODE).writeInt(r.processId()).writeInt(r.secretKey());
        } else if (request instanceof UnsupportedProtocol r) {
            out.writeInt(r.code());
        } else if (request instanceof StartupMessage m) {
            out.writeInt((m.majorVersion() << 16) | m.minorVersion());
            m.parameters().forEach((k, v) -> {
                Wire.writeCString(out, k);
                Wire.writeCString(out, v);
            });
            out.writeByte(0);
        }
        out.setInt(at, out.writerIndex() - at);
    }
}
