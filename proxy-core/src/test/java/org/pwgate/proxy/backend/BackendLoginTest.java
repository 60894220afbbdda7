package org.pwgate.proxy.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.pwgate.auth.Md5;
import org.pwgate.proxy.backend.BackendLogin.Step;
import org.pwgate.proxy.protocol.BackendCodec;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.Frame;
import org.pwgate.proxy.protocol.FrontendMessage.PasswordMessage;

/** The backend login state machine fed the bytes a PostgreSQL server sends. */
class BackendLoginTest {
    static final String STORED = Md5.hash("secret", "app");
    static final byte[] MD5_CHALLENGE = {'R', 0, 0, 0, 12, 0, 0, 0, 5, 9, 8, 7, 6};
    static final byte[] AUTH_OK = {'R', 0, 0, 0, 8, 0, 0, 0, 0};
    static final byte[] PARAM = {'S', 0, 0, 0, 12, 'a', 'b', 'c', 0, 'x', 'y', 'z', 0};
    static final byte[] KEY = {'K', 0, 0, 0, 12, 0, 0, 0, 7, 0, 0, 0, 8};
    static final byte[] READY = {'Z', 0, 0, 0, 5, 'I'};
    static final byte[] SASL = {'R', 0, 0, 0, 23, 0, 0, 0, 10, 'S', 'C', 'R', 'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6', 0, 0};
    static final byte[] CLEARTEXT = {'R', 0, 0, 0, 8, 0, 0, 0, 3};

    @Test
    void md5ChallengeIsAnsweredWithTheStoredHashThenReady() {
        BackendLogin login = new BackendLogin("app", Optional.of(STORED));
        Step.Send send = assertInstanceOf(Step.Send.class, feed(login, MD5_CHALLENGE));
        assertEquals(new PasswordMessage(Md5.saltedResponse(STORED, new byte[] {9, 8, 7, 6})), send.message());
        assertEquals(Md5.clientResponse("secret", "app", new byte[] {9, 8, 7, 6}), ((PasswordMessage) send.message()).password());
        assertInstanceOf(Step.Continue.class, feed(login, AUTH_OK));
        assertInstanceOf(Step.Continue.class, feed(login, PARAM));
        assertInstanceOf(Step.Continue.class, feed(login, KEY));
        Step.Ready ready = assertInstanceOf(Step.Ready.class, feed(login, READY));
        assertEquals(List.of(new ParameterStatus("abc", "xyz")), ready.parameters());
        assertEquals(Optional.of(new BackendKeyData(7, 8)), ready.key());
        assertEquals('I', ready.transactionStatus());
        assertEquals(BackendLogin.State.READY, login.state());
    }

    @Test
    void trustNeedsNoPassword() {
        BackendLogin login = new BackendLogin("app", Optional.empty());
        assertInstanceOf(Step.Continue.class, feed(login, AUTH_OK));
        assertInstanceOf(Step.Ready.class, feed(login, READY));
    }

    @Test
    void scramIsAClearConfigurationError() {
        Step.Failed f = assertInstanceOf(Step.Failed.class, feed(new BackendLogin("app", Optional.of(STORED)), SASL));
        assertEquals("28000", f.error().forClient().sqlState());
        assertTrue(f.error().forClient().message().contains("SCRAM-SHA-256"), f.error().forClient().message());
        assertTrue(f.error().getMessage().contains("pg_hba.conf"));
    }

    @Test
    void cleartextIsRefused() {
        Step.Failed f = assertInstanceOf(Step.Failed.class, feed(new BackendLogin("app", Optional.of(STORED)), CLEARTEXT));
        assertEquals("28000", f.error().forClient().sqlState());
    }

    @Test
    void backendErrorIsForwardedAsIs() {
        byte[] error = {'E', 0, 0, 0, 40, 'S', 'F', 'A', 'T', 'A', 'L', 0, 'C', '3', 'D', '0', '0', '0', 0,
                'M', 'n', 'o', ' ', 's', 'u', 'c', 'h', ' ', 'd', 'a', 't', 'a', 'b', 'a', 's', 'e', 0, 0};
        error[4] = (byte) (error.length - 1);
        BackendLogin login = new BackendLogin("app", Optional.of(STORED));
        feed(login, MD5_CHALLENGE);
        feed(login, AUTH_OK);
        Step.Failed f = assertInstanceOf(Step.Failed.class, feed(login, error));
        assertEquals("3D000", f.error().forClient().sqlState());
        assertEquals("no such database", f.error().forClient().message());
        assertEquals(BackendLogin.State.FAILED, login.state());
    }

    @Test
    void md5WithoutAHashFails() {
        assertInstanceOf(Step.Failed.class, feed(new BackendLogin("app", Optional.empty()), MD5_CHALLENGE));
    }

    private static Step feed(BackendLogin login, byte[] wire) {
        Frame f = new Frame(wire[0], Unpooled.wrappedBuffer(wire, 5, wire.length - 5));
        return login.onMessage(BackendCodec.decode(f));
    }
}
