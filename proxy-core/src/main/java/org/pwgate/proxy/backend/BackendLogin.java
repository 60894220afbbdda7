package org.pwgate.proxy.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.pwgate.auth.Md5;
import org.pwgate.proxy.protocol.BackendMessage;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationCleartextPassword;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationMd5Password;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationOk;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationOther;
import org.pwgate.proxy.protocol.BackendMessage.AuthenticationSasl;
import org.pwgate.proxy.protocol.BackendMessage.BackendKeyData;
import org.pwgate.proxy.protocol.BackendMessage.ErrorResponse;
import org.pwgate.proxy.protocol.BackendMessage.NoticeResponse;
import org.pwgate.proxy.protocol.BackendMessage.ParameterStatus;
import org.pwgate.proxy.protocol.BackendMessage.ReadyForQuery;
import org.pwgate.proxy.protocol.FrontendMessage;
import org.pwgate.proxy.protocol.FrontendMessage.PasswordMessage;
import org.pwgate.proxy.protocol.SqlState;

/**
 * pwgate's side of logging in to the backend, after its StartupMessage went out. No I/O: it is
 * fed the backend's messages and says what to do next.
 *
 * <pre>
 *   AWAITING_AUTHENTICATION --MD5 challenge--> (answer with the stored hash) --AuthenticationOk--+
 *        |                 --AuthenticationOk (trust)-----------------------------------------+
 *        |                                                                                    v
 *        +--ErrorResponse / SCRAM / cleartext / other--> FAILED      AWAITING_READY (ParameterStatus*,
 *                                                                     BackendKeyData) --ReadyForQuery--> READY
 * </pre>
 */
public final class BackendLogin {

    public enum State { AWAITING_AUTHENTICATION, AWAITING_READY, READY, FAILED }

    /** What the caller does after one message. */
    public sealed interface Step {
        record Send(FrontendMessage message) implements Step {}

        record Continue() implements Step {}

        record Ready(List<ParameterStatus> parameters, Optional<BackendKeyData> key, byte transactionStatus) implements Step {}

        record Failed(BackendLoginException error) implements Step {}
    }

    private final String user;
    private final Optional<String> storedMd5;
    private State state = State.AWAITING_AUTHENTICATION;
    private final List<ParameterStatus> parameters = new ArrayList<>();
    private Optional<BackendKeyData> key = Optional.empty();

    /** {@code storedMd5}: the user's md5 hash, answered to an MD5 challenge; empty when only trust can work. */
    public BackendLogin(String user, Optional<String> storedMd5) {
        this.user = user;
        this.storedMd5 = storedMd5;
    }

    public State state() {
        return state;
    }

    public Step onMessage(BackendMessage message) {
        Step step = next(message);
        if (step instanceof Step.Failed) {
            state = State.FAILED;
        }
        return step;
    }

    private Step next(BackendMessage message) {
        if (message instanceof ErrorResponse e) {
            return new Step.Failed(new BackendLoginException(e,
                    "the backend refused it: " + e.severity() + " " + e.sqlState() + " " + e.message()));
        }
        if (message instanceof NoticeResponse) {
            return new Step.Continue();
        }
        switch (state) {
            case AWAITING_AUTHENTICATION:
                return onAuthentication(message);
            case AWAITING_READY:
                if (message instanceof ParameterStatus p) {
                    parameters.add(p);
                    return new Step.Continue();
                }
                if (message instanceof BackendKeyData k) {
                    key = Optional.of(k);
                    return new Step.Continue();
                }
                if (message instanceof ReadyForQuery r) {
                    state = State.READY;
                    return new Step.Ready(List.copyOf(parameters), key, r.status());
                }
                return unexpected(message);
            default:
                return unexpected(message);
        }
    }

    private Step onAuthentication(BackendMessage message) {
        if (message instanceof AuthenticationOk) {
            state = State.AWAITING_READY;
            return new Step.Continue();
        }
        if (message instanceof AuthenticationMd5Password md5) {
            if (storedMd5.isEmpty() || !Md5.isMd5Hash(storedMd5.get())) {
                return refused("it asks for an MD5 password and pwgate has no md5 hash for this user",
                        "pwgate has no md5 password hash for user \"" + user + "\" to answer the backend's MD5 challenge");
            }
            return new Step.Send(new PasswordMessage(Md5.saltedResponse(storedMd5.get(), md5.salt())));
        }
        if (message instanceof AuthenticationSasl sasl) {
            return refused("it asks for " + String.join("/", sasl.mechanisms()),
                    "the backend asks user \"" + user + "\" for SASL (" + String.join(", ", sasl.mechanisms())
                            + "); pwgate logs in with the stored md5 hash: give pwgate's connections the md5 (or trust)"
                            + " method in pg_hba.conf and keep password_encryption=md5");
        }
        if (message instanceof AuthenticationCleartextPassword) {
            return refused("it asks for a cleartext password",
                    "the backend asks user \"" + user + "\" for a cleartext password, which pwgate does not know;"
                            + " give pwgate's connections the md5 (or trust) method in pg_hba.conf");
        }
        if (message instanceof AuthenticationOther other) {
            return refused("it asks for authentication method " + other.code(),
                    "the backend asks user \"" + user + "\" for authentication method " + other.code()
                            + "; give pwgate's connections the md5 (or trust) method in pg_hba.conf");
        }
        return unexpected(message);
    }

    private Step refused(String clientDetail, String logReason) {
        return new Step.Failed(new BackendLoginException(
                ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                        "pwgate cannot log in to the backend: " + clientDetail
                                + "; configure md5 or trust for pwgate's connections in pg_hba.conf"),
                logReason));
    }

    private Step unexpected(BackendMessage message) {
        String what = message.getClass().getSimpleName();
        return new Step.Failed(new BackendLoginException(
                ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "unexpected message from the backend during login: " + what),
                "unexpected " + what + " from the backend during the login of \"" + user + "\" in state " + state));
    }
}
