package org.pwgate.proxy.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pwgate.proxy.protocol.FrameDecoderTest.bytes;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationMd5Password;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationSasl;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.DataRow;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.NegotiateProtocolVersion;
import org.pwgate.proxy.protocol.BackendMessage.Other;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.BackendMessage.ReadyForQuery;
import org.pwgate.proxy.protocol.StartupRequest.CancelRequest;
import org.pwgate.proxy.protocol.StartupRequest.StartupMessage;
import org.pwgate.proxy.protocol.StartupRequest.UnsupportedProtocol;

class CodecTest {

    @Test
    void startupMessageBothWays() {
        // length 33, protocol 3.0, user=app, database=db, terminator
        byte[] wire = bytes(0, 0, 0, 30, 0, 3, 0, 0,
                'u', 's', 'e', 'r', 0, 'a', 'p', 'p', 0,
                'd', 'a', 't', 'a', 'b', 'a', 's', 'e', 0, 'd', 'b', 0, 0);
        assertEquals(30, wire.length);
        StartupRequest r = StartupCodec.decode(Unpooled.wrappedBuffer(wire, 4, wire.length - 4));
        StartupMessage m = assertInstanceOf(StartupMessage.class, r);
        assertEquals(3, m.majorVersion());
        assertEquals(0, m.minorVersion());
        assertEquals(Map.of("user", "app", "database", "db"), m.parameters());
        assertArrayEquals(wire, encoded(out -> StartupCodec.encode(m, out)));
    }

    @Test
    void startupCodesOtherThan3AreUnsupported() {
        // protocol 2.0
        StartupRequest r = StartupCodec.decode(Unpooled.wrappedBuffer(bytes(0, 2, 0, 0, 0)));
        assertEquals(new UnsupportedProtocol(2 << 16), r);
    }

    @Test
    void cancelRequestBothWays() {
        byte[] wire = bytes(0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0x30, 0x39, 0xff, 0xff, 0xff, 0xfe);
        CancelRequest c = (CancelRequest) StartupCodec.decode(Unpooled.wrappedBuffer(wire, 4, 12));
        assertEquals(12345, c.processId());
        assertEquals(-2, c.secretKey());
        assertArrayEquals(wire, encoded(out -> StartupCodec.encode(c, out)));
    }

    @Test
    void startupMessageWithoutTerminatorIsMalformed() {
        ByteBuf body = Unpooled.wrappedBuffer(bytes(0, 3, 0, 0, 'u', 's', 'e', 'r', 0, 'a'));
        assertThrows(MalformedMessageException.class, () -> StartupCodec.decode(body));
    }

    @Test
    void authenticationMd5PasswordBothWays() {
        byte[] wire = bytes('R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4);
        BackendMessage m = BackendCodec.decode(frame(wire));
        AuthenticationMd5Password md5 = assertInstanceOf(AuthenticationMd5Password.class, m);
        assertArrayEquals(bytes(1, 2, 3, 4), md5.salt());
        assertArrayEquals(wire, encoded(out -> BackendCodec.encode(md5, out)));
    }

    @Test
    void saslListsItsMechanisms() {
        byte[] wire = bytes('R', 0, 0, 0, 23, 0, 0, 0, 10,
                'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6', 0, 0);
        AuthenticationSasl sasl = (AuthenticationSasl) BackendCodec.decode(frame(wire));
        assertEquals(List.of("SCRAM-SHA-256"), sasl.mechanisms());
    }

    @Test
    void parameterStatusKeyDataReadyForQueryBothWays() {
        byte[] psWire = bytes('S', 0, 0, 0, 12, 'a', 'b', 'c', 0, 'x', 'y', 'z', 0);
        assertEquals(new ParameterStatus("abc", "xyz"), BackendCodec.decode(frame(psWire)));
        assertArrayEquals(psWire, encoded(out -> BackendCodec.encode(new ParameterStatus("abc", "xyz"), out)));

        byte[] key = bytes('K', 0, 0, 0, 12, 0, 0, 0, 7, 0, 0, 1, 0);
        assertEquals(new BackendKeyData(7, 256), BackendCodec.decode(frame(key)));
        assertArrayEquals(key, encoded(out -> BackendCodec.encode(new BackendKeyData(7, 256), out)));

        byte[] z = bytes('Z', 0, 0, 0, 5, 'T');
        assertEquals(new ReadyForQuery((byte) 'T'), BackendCodec.decode(frame(z)));
        assertArrayEquals(z, encoded(out -> BackendCodec.encode(new ReadyForQuery((byte) 'T'), out)));
    }

    @Test
    void errorResponseBothWays() {
        ErrorResponse e = ErrorResponse.fatal("28P01", "password authentication failed for user \"x\"");
        byte[] wire = encoded(out -> BackendCodec.encode(e, out));
        assertEquals('E', wire[0]);
        assertEquals(0, wire[wire.length - 1]);
        ErrorResponse back = (ErrorResponse) BackendCodec.decode(frame(wire));
        assertEquals(e, back);
        assertTrue(back.isFatal());
        assertEquals("FATAL", BackendCodec.errorSeverity(frame(wire).body()));
        assertTrue(BackendCodec.isFatalError(frame(wire).body()));
    }

    @Test
    void negotiateProtocolVersionBytes() {
        byte[] expected = bytes('v', 0, 0, 0, 19, 0, 0, 0, 0, 0, 0, 0, 1, '_', 'p', 'q', '_', '.', 'x', 0);
        assertArrayEquals(expected, encoded(out -> BackendCodec.encode(new NegotiateProtocolVersion(0, List.of("_pq_.x")), out)));
    }

    @Test
    void dataRowWithNull() {
        byte[] wire = bytes('D', 0, 0, 0, 15, 0, 2, 0, 0, 0, 1, 'a', 0xff, 0xff, 0xff, 0xff);
        DataRow row = (DataRow) BackendCodec.decode(frame(wire));
        assertEquals(List.of(Optional.of("a"), Optional.empty()), row.values());
    }

    @Test
    void truncatedBodiesAreMalformed() {
        assertThrows(MalformedMessageException.class, () -> BackendCodec.decode(frame(bytes('K', 0, 0, 0, 8, 0, 0, 0, 7))));
        assertThrows(MalformedMessageException.class, () -> BackendCodec.decode(frame(bytes('D', 0, 0, 0, 10, 0, 1, 0, 0, 0, 9))));
        assertThrows(MalformedMessageException.class, () -> BackendCodec.decode(frame(bytes('S', 0, 0, 0, 7, 'a', 0, 'b'))));
    }

    @Test
    void unknownTagDecodesAsOther() {
        assertEquals(new Other((byte) '@'), BackendCodec.decode(frame(bytes('@', 0, 0, 0, 4))));
    }

    @Test
    void decodingLeavesTheFrameUntouched() {
        Frame f = frame(bytes('S', 0, 0, 0, 12, 'a', 'b', 'c', 0, 'x', 'y', 'z', 0));
        BackendCodec.decode(f);
        assertEquals(8, f.body().readableBytes());
    }

    @Test
    void extendedQueryMessagesEncodeAsThePostgresDocsSay() {
        byte[] parse = encoded(out -> FrontendCodec.encode(new FrontendMessage.Parse("", "SELECT $1", new int[0]), out));
        assertArrayEquals(bytes('P', 0, 0, 0, 17, 0, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '$', '1', 0, 0, 0), parse);
        byte[] bind = encoded(out -> FrontendCodec.encode(new FrontendMessage.Bind("", "", List.of(Optional.of("x"), Optional.empty())), out));
        assertArrayEquals(bytes('B', 0, 0, 0, 21, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0, 0), bind);
        byte[] exec = encoded(out -> FrontendCodec.encode(new FrontendMessage.Execute("", 0), out));
        assertArrayEquals(bytes('E', 0, 0, 0, 9, 0, 0, 0, 0, 0), exec);
        assertArrayEquals(bytes('S', 0, 0, 0, 4), encoded(out -> FrontendCodec.encode(new FrontendMessage.Sync(), out)));
        assertEquals(new FrontendMessage.Parse("", "SELECT $1", new int[0]), FrontendCodec.decodeParse(frame(parse).body()));
    }

    @Test
    void passwordMessageDecodesAndHidesItself() {
        byte[] wire = encoded(out -> FrontendCodec.encode(new FrontendMessage.PasswordMessage("md5abc"), out));
        FrontendMessage.PasswordMessage p = FrontendCodec.decodePassword(frame(wire).body());
        assertEquals("md5abc", p.password());
        assertFalse(p.toString().contains("md5abc"));
    }

    private static Frame frame(byte[] wire) {
        return new Frame(wire[0], Unpooled.wrappedBuffer(wire, 5, wire.length - 5));
    }

    private static byte[] encoded(Consumer<ByteBuf> writer) {
        ByteBuf out = Unpooled.buffer();
        try {
            writer.accept(out);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }
}
