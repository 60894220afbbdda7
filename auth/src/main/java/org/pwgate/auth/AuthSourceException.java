package org.pwgate.auth;

/**
 * A credential source cannot answer: a misbehaving auth_query or an unusable userlist. Messages
 * name the problem and where it is (file and line, column), never a password or hash.
 */
public final class AuthSourceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuthSourceException(String message) {
        super(message);
    }

    public AuthSourceException(String message, Throwable cause) {
        super(message, cause);
    }
}
